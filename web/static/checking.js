// Progressive enhancement of the "we are checking your return" page: ask the portal for the upload's state,
// waiting there until it moves (the portal answers as soon as the check has found something, or after 20
// seconds), then load the page again: it shows the findings, then the version. Without JavaScript the page has a
// link to refresh it by hand.
const box = document.getElementById('checking')
if (box && box.dataset.stateUrl) {
  const url = box.dataset.stateUrl
  const waiting = (box.dataset.while || 'checking').split(' ')
  let seen = waiting[waiting.length - 1]
  let tries = 0
  const ask = async () => {
    tries += 1
    try {
      const query = `?seen=${encodeURIComponent(seen)}&wait=20`
      const response = await fetch(url + query, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
      if (response.ok) {
        const body = await response.json()
        if (!waiting.includes(body.state)) {
          window.location.reload()
          return
        }
        seen = body.state
        if (tries < 200) {
          window.setTimeout(ask, 0)
        }
        return
      }
    } catch (error) {
      // a dropped connection: try again shortly
    }
    if (tries < 200) {
      window.setTimeout(ask, 1500)
    }
  }
  ask()
}
