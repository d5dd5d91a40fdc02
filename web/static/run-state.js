// Progressive enhancement of a Prefect run's page: while the run has not ended, load the page again every few
// seconds (at most for an hour). Without JavaScript the page has a link to refresh it by hand.
const box = document.getElementById('run-state')
if (box && box.dataset.final === 'false') {
  const started = Date.now()
  const again = () => {
    if (Date.now() - started < 3600 * 1000) {
      window.location.reload()
    }
  }
  window.setTimeout(again, 5000)
}
