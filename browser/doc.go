// Package browser holds pushgate's real-browser tests: Debian's chromium, headless, driven with
// chromedp over the DevTools protocol, against a real server on loopback. They cover the web
// console (engine/console) and the browser snippets of the README (socket.io-client's browser
// bundle, EventSource, CORS with credentials, reconnect after a restart). `make test` installs
// chromium when it is missing; the tests fail (never skip) without it.
package browser
