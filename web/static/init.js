// Progressive enhancement for GOV.UK Frontend components.
// Loaded as an external ES module at the end of <body>:
//   <script type="module" src="/static/init.js"></script>
// (the Content-Security-Policy forbids inline script, so this replaces the
// inline snippet of the GOV.UK page template).
//
// Static imports are fetched and evaluated before this module's body runs,
// but govuk-frontend.min.js has no side effects on import: it only checks the
// body classes when initAll() is called, after they are added below. If the
// bundle fails to load, this module does not run at all and the page stays
// in its no-JS state, which is what we want.
import { initAll } from './govuk/govuk-frontend.min.js'

document.body.classList.add('js-enabled')
if ('noModule' in HTMLScriptElement.prototype) {
  document.body.classList.add('govuk-frontend-supported')
}

initAll()
