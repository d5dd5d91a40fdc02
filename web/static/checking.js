// Progressive enhancement of the "we are checking your return" page: ask the portal often at first (most returns
// are checked within a second or two), then less often, whether the check has finished, then load the page again
// (it shows the result). Without JavaScript the page has a link to refresh it by hand.
const box = document.getElementById('checking')
if (box && box.dataset.stateUrl) {
  const url = box.dataset.stateUrl
  let tries = 0
  const ask = async () => {
    tries += 1
    try {
      const response = await fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
      if (response.ok) {
        const body = await response.json()
        if (body.state !== 'checking') {
          window.location.reload()
          return
        }
      }
    } catch (error) {
      // a dropped connection: try again on the next tick
    }
    if (tries < 300) {
      window.setTimeout(ask, tries < 20 ? 250 : 1500)
    }
  }
  window.setTimeout(ask, 250)
}
