// Loaded with `node --import ./dns-hook.mjs`: keeps every connection of the test process on
// loopback. Names under the test domain resolve to INTEROP_LOOPBACK_IP (a 127.0.0.0/8 address,
// default 127.0.0.1); `localhost` to 127.0.0.1; every other name lookup FAILS
// (ENOTFOUND), so nothing can leave the machine even if a library tries to.
//
// Node's `net.connect` (used by undici, i.e. the global `fetch`, and by `tls.connect`) calls
// `dns.lookup` through the public module object when no `lookup` option is given, so replacing
// the property here is honoured by `fetch`. The suite checks that at start-up.
import dns from 'node:dns'
import dnsPromises from 'node:dns/promises'

export const TEST_DOMAIN = process.env.INTEROP_TEST_DOMAIN || 'atauth-test.internal'
const LOOPBACK = '127.0.0.1'
const TEST_ADDR = process.env.INTEROP_LOOPBACK_IP || LOOPBACK
if (!TEST_ADDR.startsWith('127.')) throw new Error(`INTEROP_LOOPBACK_IP must be a loopback address, got ${TEST_ADDR}`)

function isTestName(hostname) {
  const h = String(hostname).toLowerCase().replace(/\.$/, '')
  return h === TEST_DOMAIN || h.endsWith(`.${TEST_DOMAIN}`)
}

function isLoopbackLiteral(hostname) {
  return hostname === 'localhost' || hostname === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname)
}

function answer(hostname, options) {
  const opts = typeof options === 'number' ? { family: options } : options || {}
  if (isLoopbackLiteral(hostname)) {
    const address = hostname === 'localhost' ? LOOPBACK : hostname
    const family = address.includes(':') ? 6 : 4
    return { all: !!opts.all, list: [{ address, family }] }
  }
  if (isTestName(hostname)) {
    if (opts.family === 6) return { error: notFound(hostname) }
    return { all: !!opts.all, list: [{ address: TEST_ADDR, family: 4 }] }
  }
  return { error: notFound(hostname) }
}

function notFound(hostname) {
  const err = new Error(`getaddrinfo ENOTFOUND ${hostname} (interop dns hook: only *.${TEST_DOMAIN} resolves)`)
  err.code = 'ENOTFOUND'
  err.errno = -3008
  err.syscall = 'getaddrinfo'
  err.hostname = hostname
  return err
}

function lookup(hostname, options, callback) {
  if (typeof options === 'function') {
    callback = options
    options = {}
  }
  const res = answer(hostname, options)
  process.nextTick(() => {
    if (res.error) return callback(res.error)
    if (res.all) return callback(null, res.list)
    return callback(null, res.list[0].address, res.list[0].family)
  })
}

async function lookupPromise(hostname, options) {
  const res = answer(hostname, options)
  if (res.error) throw res.error
  return res.all ? res.list : res.list[0]
}

function refuse(name) {
  return function (hostname, ...rest) {
    const cb = rest.find((a) => typeof a === 'function')
    const err = notFound(hostname)
    err.syscall = name
    if (cb) process.nextTick(() => cb(err))
    else return Promise.reject(err)
  }
}

dns.lookup = lookup
dnsPromises.lookup = lookupPromise
if (dns.promises && dns.promises !== dnsPromises) dns.promises.lookup = lookupPromise
// DNS queries proper (TXT for _atproto handles, etc.) never leave the machine either.
for (const name of ['resolve', 'resolve4', 'resolve6', 'resolveTxt', 'resolveAny', 'resolveCname']) {
  dns[name] = refuse(name)
  dnsPromises[name] = refuse(name)
}
dns.Resolver.prototype.resolve = refuse('resolve')
dns.Resolver.prototype.resolveTxt = refuse('resolveTxt')
dnsPromises.Resolver.prototype.resolve = refuse('resolve')
dnsPromises.Resolver.prototype.resolveTxt = refuse('resolveTxt')

globalThis.__interopDnsHook = { TEST_DOMAIN, TEST_ADDR, isTestName }
