// The interop suite: @atproto/oauth-client-node (unmodified) against a real atauth process over
// https, with headless Chromium (playwright-core) playing the member. Started by
// scripts/interop, which prepares the server, the certificates and the environment below, and
// runs this file with Node 22 and `--import ./dns-hook.mjs`.
//
// Prints one line per check (`ok - ...` / `not ok - ...`) and a closing `N passed, M failed`.
import { createHash, randomBytes } from 'node:crypto'
import { readFileSync, mkdirSync } from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import { join } from 'node:path'
import {
  JoseKey,
  NodeOAuthClient,
  OAuthCallbackError,
  XrpcHandleResolver,
  buildAtprotoLoopbackClientMetadata,
} from '@atproto/oauth-client-node'
import { chromium } from 'playwright-core'

const env = (name) => {
  const v = process.env[name]
  if (!v) throw new Error(`missing environment variable ${name} (run scripts/interop)`)
  return v
}

const DOMAIN = env('INTEROP_TEST_DOMAIN')
const TEST_ADDR = env('INTEROP_LOOPBACK_IP')
const COOPS = {
  a: {
    name: 'Co-op A',
    issuer: env('INTEROP_ISSUER_A'),
    handle: env('INTEROP_HANDLE_A'),
    did: env('INTEROP_DID_A'),
    password: env('INTEROP_PASSWORD_A'),
  },
  b: {
    name: 'Co-op B',
    issuer: env('INTEROP_ISSUER_B'),
    handle: env('INTEROP_HANDLE_B'),
    did: env('INTEROP_DID_B'),
    password: env('INTEROP_PASSWORD_B'),
  },
}
const TLS = { cert: readFileSync(env('INTEROP_TLS_CERT')), key: readFileSync(env('INTEROP_TLS_KEY')) }
const SCREENSHOTS = process.env.INTEROP_SCREENSHOTS === '1' ? env('INTEROP_SCREENSHOT_DIR') : null
const SCOPE = 'atproto transition:generic'
// Granular scopes and a pinned permission set (permission-sets/app.bsky.authCreatePosts.json,
// served with --permission-sets by scripts/interop).
const APPVIEW = 'did:web:api.bsky.app%23bsky_appview'
const GRANULAR_SCOPE = [
  'atproto',
  'account:email',
  'repo:app.bsky.feed.like?action=create',
  'blob:image/*',
  `include:app.bsky.authCreatePosts?aud=${APPVIEW}`,
].join(' ')
// What the session must get after the member withholds e-mail: the set's permissions expanded
// and normalised, then the other granted scopes (profile section 5.4).
const GRANULAR_EXPECTED = [
  'rpc?lxm=app.bsky.video.abortUpload&lxm=app.bsky.video.finishUpload&lxm=app.bsky.video.getJobStatus' +
    '&lxm=app.bsky.video.getUploadLimits&lxm=app.bsky.video.getUploadStatus&lxm=app.bsky.video.startUpload' +
    `&lxm=app.bsky.video.uploadPart&lxm=app.bsky.video.uploadVideo&aud=${APPVIEW}`,
  'repo?collection=app.bsky.feed.post&collection=app.bsky.feed.postgate&collection=app.bsky.feed.threadgate&action=create',
  'atproto',
  'repo:app.bsky.feed.like?action=create',
  'blob:image/*',
].join(' ')
const STEP_TIMEOUT = 15_000
const CHECK_TIMEOUT = 40_000

// --- reporting ----------------------------------------------------------------------------------
let passed = 0
let failed = 0
const notes = []

function report(ok, name, detail) {
  if (ok) passed++
  else failed++
  console.log(`${ok ? 'ok' : 'not ok'} - ${name}${!ok && detail ? ` (${detail})` : ''}`)
  return ok
}

/** Runs one check; a thrown error is a failure. Returns the value of `fn` (or undefined). */
async function check(name, fn) {
  let timer
  try {
    const res = await Promise.race([
      Promise.resolve().then(fn),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${CHECK_TIMEOUT / 1000} s`)), CHECK_TIMEOUT)
      }),
    ])
    if (res === false) report(false, name, 'condition false')
    else report(true, name)
    return res
  } catch (err) {
    report(false, name, describe(err))
    return undefined
  } finally {
    clearTimeout(timer)
  }
}

function describe(err) {
  if (!err) return String(err)
  const parts = [err.message || String(err)]
  let c = err.cause
  for (let i = 0; c && i < 4; i++, c = c.cause) parts.push(c.message || String(c))
  return parts.join(' <- ').replace(/\s+/g, ' ').slice(0, 600)
}

function assert(cond, message) {
  if (!cond) throw new Error(message)
}

function eq(actual, expected, what) {
  if (actual !== expected) {
    throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`)
  }
}

// --- what the client fetched (a pass-through observer; the library's behaviour is unchanged) -
const fetched = []
const realFetch = globalThis.fetch
globalThis.fetch = function observedFetch(input, init) {
  fetched.push(input instanceof Request ? input.url : String(input))
  return realFetch.call(this, input, init)
}

// --- stores and helpers ---------------------------------------------------------------------
class MemoryStore {
  constructor() {
    this.map = new Map()
  }
  async get(key) {
    return this.map.get(key)
  }
  async set(key, value) {
    this.map.set(key, structuredClone(value))
  }
  async del(key) {
    this.map.delete(key)
  }
}

// A lock for one process, as the library recommends (avoids its warning and racing refreshes).
const locks = new Map()
async function requestLock(name, fn) {
  while (locks.has(name)) await locks.get(name).catch(() => {})
  const p = Promise.resolve().then(fn)
  locks.set(name, p)
  try {
    return await p
  } finally {
    locks.delete(name)
  }
}

/** Routes resolveHandle to the cooperative hosting the handle (XRPC, as handleResolver: URL). */
const handleResolver = {
  resolvers: Object.values(COOPS).map((c) => ({
    suffix: `.${new URL(c.issuer).hostname}`,
    resolver: new XrpcHandleResolver(c.issuer),
  })),
  async resolve(handle, options) {
    const hit = this.resolvers.find((r) => handle.endsWith(r.suffix))
    return hit ? hit.resolver.resolve(handle, options) : null
  },
}

const b64url = (buf) => Buffer.from(buf).toString('base64url')
const sha256b64 = (s) => b64url(createHash('sha256').update(s).digest())

/** A DPoP-bound request made by hand (not by the library), retrying once on a nonce challenge. */
async function rawDpopFetch(dpopKey, url, init = {}, accessToken) {
  const alg = ['ES256', 'ES256K'].find((a) => dpopKey.algorithms.includes(a))
  let nonce
  for (let attempt = 0; attempt < 2; attempt++) {
    const u = new URL(url)
    const proof = await dpopKey.createJwt(
      { alg, typ: 'dpop+jwt', jwk: dpopKey.bareJwk },
      {
        iat: Math.floor(Date.now() / 1000),
        jti: b64url(randomBytes(16)),
        htm: init.method || 'GET',
        htu: `${u.origin}${u.pathname}`,
        nonce,
        ath: accessToken ? sha256b64(accessToken) : undefined,
      },
    )
    const headers = new Headers(init.headers)
    headers.set('DPoP', proof)
    if (accessToken) headers.set('Authorization', `DPoP ${accessToken}`)
    const res = await fetch(url, { ...init, headers })
    const text = await res.text()
    let json
    try {
      json = JSON.parse(text)
    } catch {
      json = undefined
    }
    const www = res.headers.get('www-authenticate') || ''
    const nextNonce = res.headers.get('dpop-nonce')
    const nonceChallenge =
      (res.status === 401 && www.includes('use_dpop_nonce')) ||
      (res.status === 400 && json?.error === 'use_dpop_nonce')
    if (nonceChallenge && nextNonce && attempt === 0) {
      nonce = nextNonce
      continue
    }
    return { status: res.status, json, text, www }
  }
}

async function clientAssertion(keyset, clientId, issuer) {
  const key = keyset[0]
  const now = Math.floor(Date.now() / 1000)
  return key.createJwt(
    { alg: 'ES256', kid: key.kid },
    { iss: clientId, sub: clientId, aud: issuer, jti: b64url(randomBytes(16)), iat: now, exp: now + 60 },
  )
}

/** Waits for the next request to an app's /callback; returns its query parameters. */
class CallbackInbox {
  constructor() {
    this.waiter = null
    this.received = []
  }
  handle(req, res) {
    const url = new URL(req.url, 'http://placeholder')
    if (url.pathname !== '/callback') return false
    this.received.push(url.searchParams)
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
    res.end('<!doctype html><title>Callback</title><p>The app received the redirect.</p>')
    if (this.waiter) {
      const w = this.waiter
      this.waiter = null
      w(url.searchParams)
    }
    return true
  }
  next(timeout = STEP_TIMEOUT) {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.waiter = null
        reject(new Error('no request reached the app callback'))
      }, timeout)
      this.waiter = (p) => {
        clearTimeout(t)
        resolve(p)
      }
    })
  }
}

function listen(server, host = '127.0.0.1') {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, host, () => resolve(server.address().port))
  })
}

// --- the browser, playing the member ----------------------------------------------------------
let browser

async function newPage() {
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 720, height: 760 } })
  const page = await context.newPage()
  page.setDefaultTimeout(STEP_TIMEOUT)
  return { context, page }
}

async function shot(page, file) {
  if (!SCREENSHOTS) return
  mkdirSync(SCREENSHOTS, { recursive: true })
  await page.screenshot({ path: join(SCREENSHOTS, file), fullPage: true })
}

async function signIn(page, handle, password) {
  const identifier = page.getByLabel('Handle or email')
  await identifier.waitFor({ state: 'visible' })
  if ((await identifier.inputValue()) !== handle) await identifier.fill(handle)
  await page.getByLabel('Password').fill(password)
  await page.getByRole('button', { name: 'Sign in', exact: true }).click()
}

// --- one full flow ----------------------------------------------------------------------------
async function fullFlow({ label, client, store, inbox, coop, input, keyset, clientId, screenshots }) {
  const t0 = performance.now()
  const fetchedFrom = fetched.length
  const expectHint = !/^https?:\/\//.test(input)
  const url = await check(`${label}: authorize(${expectHint ? 'handle' : 'service URL'}) gives a PAR request_uri on the issuer`, async () => {
    const u = await client.authorize(input, { scope: SCOPE })
    eq(u.origin, coop.issuer, 'authorization URL origin')
    assert(u.searchParams.get('request_uri'), 'no request_uri in the authorization URL')
    return u
  })
  if (!url) return false

  const { context, page } = await newPage()
  let params
  try {
    params = await check(`${label}: member signs in and allows in Chromium; the app's callback gets the redirect`, async () => {
      await page.goto(url.href)
      const identifier = page.getByLabel('Handle or email')
      await identifier.waitFor({ state: 'visible' })
      const prefilled = await identifier.inputValue()
      if (expectHint) eq(prefilled, coop.handle, 'sign-in field pre-filled from login_hint')
      else eq(prefilled, '', 'sign-in field without login_hint')
      if (screenshots) await shot(page, 'sign-in.png')
      await signIn(page, coop.handle, coop.password)
      await page.getByRole('button', { name: 'Allow', exact: true }).waitFor({ state: 'visible' })
      if (screenshots) await shot(page, 'consent.png')
      const cb = inbox.next()
      await page.getByRole('button', { name: 'Allow', exact: true }).click()
      return cb
    })
  } finally {
    await context.close()
  }
  if (!params) return false

  await check(`${label}: callback carries code, state and iss = issuer`, () => {
    assert(params.get('code'), 'no code')
    assert(params.get('state'), 'no state')
    eq(params.get('iss'), coop.issuer, 'iss')
  })

  const session = await check(`${label}: client.callback() gives a session for the account's DID`, async () => {
    const { session } = await client.callback(params)
    eq(session.did, coop.did, 'session DID')
    return session
  })
  if (!session) return false

  await check(`${label}: identity verified for real (${expectHint ? 'resolveHandle → ' : ''}did:web did.json → protected-resource → AS metadata)`, () => {
    const urls = fetched.slice(fetchedFrom)
    const didHost = decodeURIComponent(coop.did.slice('did:web:'.length))
    const want = [
      `https://${didHost}/.well-known/did.json`,
      `${coop.issuer}/.well-known/oauth-protected-resource`,
      `${coop.issuer}/.well-known/oauth-authorization-server`,
    ]
    if (expectHint) want.unshift(`${coop.issuer}/xrpc/com.atproto.identity.resolveHandle?handle=${coop.handle}`)
    for (const u of want) assert(urls.includes(u), `the client never fetched ${u}`)
    assert(coop.did.startsWith('did:web:') && !coop.did.includes('%3A'), `not a port-less did:web: ${coop.did}`)
  })

  await check(`${label}: getSession through the session's DPoP-bound fetch`, async () => {
    const res = await session.fetchHandler('/xrpc/com.atproto.server.getSession')
    const body = await res.text()
    eq(res.status, 200, `status (${body.slice(0, 200)})`)
    const json = JSON.parse(body)
    eq(json.did, coop.did, 'getSession did')
    eq(json.handle, coop.handle, 'getSession handle')
  })

  const restored = await check(`${label}: client.restore(did) restores the session`, async () => {
    const s = await client.restore(coop.did)
    eq(s.did, coop.did, 'restored DID')
    const res = await s.fetchHandler('/xrpc/com.atproto.server.getSession')
    eq(res.status, 200, 'getSession through the restored session')
    return s
  })
  if (!restored) return false

  await check(`${label}: forced refresh changes both tokens and the new access token works`, async () => {
    const before = structuredClone((await store.get(coop.did)).tokenSet)
    await restored.getTokenInfo(true)
    const stored = await store.get(coop.did)
    const after = stored.tokenSet
    assert(after.access_token !== before.access_token, 'access token unchanged after refresh')
    assert(after.refresh_token && after.refresh_token !== before.refresh_token, 'refresh token unchanged after refresh')
    const dpopKey = await JoseKey.fromJWK(stored.dpopJwk)
    const raw = await rawDpopFetch(dpopKey, `${coop.issuer}/xrpc/com.atproto.server.getSession`, {}, after.access_token)
    eq(raw.status, 200, `raw DPoP getSession with the new access token (${raw.text.slice(0, 200)})`)
    const res = await restored.fetchHandler('/xrpc/com.atproto.server.getSession')
    eq(res.status, 200, 'getSession through the session after refresh')
    eq((await store.get(coop.did)).tokenSet.access_token, after.access_token, 'no hidden second refresh')
  })

  const old = await store.get(coop.did)
  await check(`${label}: session.signOut() revokes and forgets the session`, async () => {
    await restored.signOut()
    eq(await store.get(coop.did), undefined, 'stored session after signOut')
  })

  if (old) {
    const dpopKey = await JoseKey.fromJWK(old.dpopJwk)
    await check(`${label}: the revoked access token is refused (raw DPoP getSession → 401 invalid_token)`, async () => {
      const raw = await rawDpopFetch(dpopKey, `${coop.issuer}/xrpc/com.atproto.server.getSession`, {}, old.tokenSet.access_token)
      eq(raw.status, 401, `status (${raw.text.slice(0, 200)})`)
      assert(raw.www.includes('invalid_token'), `WWW-Authenticate: ${raw.www}`)
    })
    await check(`${label}: the revoked refresh token is refused (raw DPoP refresh → 400 invalid_grant)`, async () => {
      const form = new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: old.tokenSet.refresh_token,
        client_id: clientId,
      })
      if (keyset) {
        form.set('client_assertion_type', 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer')
        form.set('client_assertion', await clientAssertion(keyset, clientId, coop.issuer))
      }
      const raw = await rawDpopFetch(dpopKey, `${coop.issuer}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: form.toString(),
      })
      eq(raw.status, 400, `status (${raw.text.slice(0, 200)})`)
      eq(raw.json?.error, 'invalid_grant', 'error')
    })
  }
  const ms = performance.now() - t0
  if (old) notes.push(`${label}: DPoP key ${old.dpopJwk.kty}/${old.dpopJwk.crv} (server advertises ${JSON.stringify(session.serverMetadata.dpop_signing_alg_values_supported)})`)
  notes.push(`${label}: one full flow (authorize → sign-in → consent → callback → API → restore → refresh → sign-out → checks) took ${ms.toFixed(0)} ms`)
  return true
}

/** Wrong password (error shown, no code), then the right one and Deny → access_denied. */
async function wrongPasswordThenDeny({ label, client, inbox, coop, screenshots }) {
  const url = await check(`${label}: authorize(handle) for the wrong-password / deny flow`, () => client.authorize(coop.handle, { scope: SCOPE }))
  if (!url) return
  const { context, page } = await newPage()
  try {
    const received = inbox.received.length
    await check(`${label}: a wrong password shows an error on the sign-in page and sends no code`, async () => {
      await page.goto(url.href)
      await signIn(page, coop.handle, `${coop.password}-wrong`)
      const alert = page.getByRole('alert')
      await alert.waitFor({ state: 'visible' })
      const text = (await alert.innerText()).trim()
      assert(text.length > 0, 'empty error message')
      await page.getByLabel('Password').waitFor({ state: 'visible' })
      eq(new URL(page.url()).origin, coop.issuer, 'still on the issuer')
      if (screenshots) await shot(page, 'sign-in-error.png')
      await new Promise((r) => setTimeout(r, 300))
      eq(inbox.received.length, received, 'requests reaching the app callback')
    })
    const params = await check(`${label}: Deny returns error=access_denied to the app's callback`, async () => {
      await signIn(page, coop.handle, coop.password)
      await page.getByRole('button', { name: 'Deny', exact: true }).waitFor({ state: 'visible' })
      const cb = inbox.next()
      await page.getByRole('button', { name: 'Deny', exact: true }).click()
      const p = await cb
      eq(p.get('error'), 'access_denied', 'error')
      assert(!p.get('code'), 'a code was sent')
      eq(p.get('iss'), coop.issuer, 'iss')
      return p
    })
    if (params) {
      await check(`${label}: client.callback() surfaces access_denied as OAuthCallbackError`, async () => {
        try {
          await client.callback(params)
        } catch (err) {
          assert(err instanceof OAuthCallbackError, `unexpected error ${describe(err)}`)
          eq(err.params.get('error'), 'access_denied', 'error param')
          return
        }
        throw new Error('callback() did not throw')
      })
    }
  } finally {
    await context.close()
  }
}

/** Granular scopes + a permission set: consent shows them, the member withholds e-mail, and the
 * session's scope is exactly the expanded, narrowed scope. */
async function granularFlow({ label, client, store, inbox, coop, screenshots }) {
  const url = await check(`${label}: authorize with granular scopes and include:app.bsky.authCreatePosts`, async () => {
    const u = await client.authorize(coop.handle, { scope: GRANULAR_SCOPE })
    eq(u.origin, coop.issuer, 'authorization URL origin')
    return u
  })
  if (!url) return
  const { context, page } = await newPage()
  let params
  try {
    params = await check(`${label}: consent shows the set's title and plain permissions; e-mail withheld`, async () => {
      await page.goto(url.href)
      await signIn(page, coop.handle, coop.password)
      const allow = page.getByRole('button', { name: 'Allow', exact: true })
      await allow.waitFor({ state: 'visible' })
      const text = await page.locator('main').innerText()
      for (const expected of [
        'Create Bluesky Posts',
        'Can not update or delete posts.',
        'Create: likes (app.bsky.feed.like)',
        'Upload images',
        'See your e-mail address',
      ]) {
        assert(text.includes(expected), `consent page lacks ${JSON.stringify(expected)}`)
      }
      const email = page.getByLabel('See your e-mail address')
      assert(await email.isChecked(), 'e-mail box not checked by default')
      await email.uncheck()
      await page.locator('.permission-set summary').first().click()
      if (screenshots) await shot(page, 'consent-granular.png')
      const cb = inbox.next()
      await allow.click()
      return cb
    })
  } finally {
    await context.close()
  }
  if (!params) return
  const session = await check(`${label}: client.callback() gives a session`, async () => {
    const { session } = await client.callback(params)
    eq(session.did, coop.did, 'session DID')
    return session
  })
  if (!session) return
  await check(`${label}: the session's scope is exactly the expanded scope without e-mail`, async () => {
    eq((await store.get(coop.did)).tokenSet.scope, GRANULAR_EXPECTED, 'token scope')
    eq((await session.getTokenInfo()).scope, GRANULAR_EXPECTED, 'getTokenInfo().scope')
  })
  await check(`${label}: getSession works and shows no e-mail (withheld)`, async () => {
    const res = await session.fetchHandler('/xrpc/com.atproto.server.getSession')
    eq(res.status, 200, 'status')
    const json = await res.json()
    eq(json.did, coop.did, 'did')
    eq(json.email, undefined, 'email')
  })
  await check(`${label}: after a refresh the scope is unchanged`, async () => {
    await session.getTokenInfo(true)
    eq((await store.get(coop.did)).tokenSet.scope, GRANULAR_EXPECTED, 'refreshed token scope')
  })
  await session.signOut().catch(() => {})
}

// --- main -------------------------------------------------------------------------------------
async function main() {
  const a = COOPS.a

  // The harness itself: names resolve only inside the test domain.
  await check(`harness: *.${DOMAIN} resolves to ${TEST_ADDR} for fetch (dns.lookup hook honoured)`, async () => {
    const res = await fetch(`${a.issuer}/.well-known/oauth-authorization-server`)
    eq(res.status, 200, 'status')
    eq((await res.json()).issuer, a.issuer, 'issuer')
  })
  await check('harness: any other name fails to resolve (nothing leaves loopback)', async () => {
    try {
      await fetch('https://bsky.social/.well-known/oauth-authorization-server')
    } catch (err) {
      assert(describe(err).includes('ENOTFOUND'), describe(err))
      return
    }
    throw new Error('lookup of bsky.social succeeded')
  })

  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      `--host-resolver-rules=MAP *.${DOMAIN} ${TEST_ADDR}, MAP localhost 127.0.0.1, MAP * ~NOTFOUND, EXCLUDE 127.0.0.1`,
      '--ignore-certificate-errors',
    ],
  })

  // (1) Loopback client: http://localhost?redirect_uri=...&scope=..., callback on 127.0.0.1.
  const loopInbox = new CallbackInbox()
  const loopServer = http.createServer((req, res) => {
    if (!loopInbox.handle(req, res)) {
      res.writeHead(404)
      res.end()
    }
  })
  const loopPort = await listen(loopServer)
  const loopStore = new MemoryStore()
  const loopMeta = buildAtprotoLoopbackClientMetadata({
    scope: SCOPE,
    redirect_uris: [`http://127.0.0.1:${loopPort}/callback`],
  })
  const loopClient = new NodeOAuthClient({
    clientMetadata: loopMeta,
    stateStore: new MemoryStore(),
    sessionStore: loopStore,
    handleResolver,
    requestLock,
  })

  // (1b) Loopback client asking for granular scopes and a permission set.
  const granularInbox = new CallbackInbox()
  const granularServer = http.createServer((req, res) => {
    if (!granularInbox.handle(req, res)) {
      res.writeHead(404)
      res.end()
    }
  })
  const granularPort = await listen(granularServer)
  const granularStore = new MemoryStore()
  const granularClient = new NodeOAuthClient({
    clientMetadata: buildAtprotoLoopbackClientMetadata({
      scope: GRANULAR_SCOPE,
      redirect_uris: [`http://127.0.0.1:${granularPort}/callback`],
    }),
    stateStore: new MemoryStore(),
    sessionStore: granularStore,
    handleResolver,
    requestLock,
  })

  // (2) Confidential client: metadata + JWKS served over https by the app, private_key_jwt ES256.
  const appInbox = new CallbackInbox()
  const key = await JoseKey.generate(['ES256'], 'interop-key-1')
  const keyset = [key]
  let appMeta
  const appServer = https.createServer(TLS, (req, res) => {
    const path = new URL(req.url, 'https://placeholder').pathname
    if (appInbox.handle(req, res)) return
    if (path === '/client-metadata.json' || path === '/jwks.json') {
      const body = path === '/jwks.json' ? { keys: [key.publicJwk] } : appMeta
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify(body))
      return
    }
    res.writeHead(404)
    res.end()
  })
  const appPort = await listen(appServer, TEST_ADDR)
  const appOrigin = `https://app.apps.${DOMAIN}:${appPort}`
  appMeta = {
    client_id: `${appOrigin}/client-metadata.json`,
    client_name: 'Interop Confidential App',
    client_uri: appOrigin,
    redirect_uris: [`${appOrigin}/callback`],
    scope: SCOPE,
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    application_type: 'web',
    token_endpoint_auth_method: 'private_key_jwt',
    token_endpoint_auth_signing_alg: 'ES256',
    dpop_bound_access_tokens: true,
    jwks_uri: `${appOrigin}/jwks.json`,
  }
  const appStore = new MemoryStore()
  const appClient = new NodeOAuthClient({
    clientMetadata: appMeta,
    keyset,
    stateStore: new MemoryStore(),
    sessionStore: appStore,
    handleResolver,
    requestLock,
  })

  try {
    await fullFlow({
      label: 'loopback client',
      client: loopClient,
      store: loopStore,
      inbox: loopInbox,
      coop: a,
      input: a.handle,
      clientId: loopMeta.client_id,
      screenshots: true,
    })
    await fullFlow({
      label: 'loopback client, from the service URL',
      client: loopClient,
      store: loopStore,
      inbox: loopInbox,
      coop: a,
      input: a.issuer,
      clientId: loopMeta.client_id,
    })
    await granularFlow({
      label: 'loopback client, granular scopes',
      client: granularClient,
      store: granularStore,
      inbox: granularInbox,
      coop: a,
      screenshots: true,
    })
    await wrongPasswordThenDeny({ label: 'loopback client', client: loopClient, inbox: loopInbox, coop: a, screenshots: true })
    await fullFlow({
      label: 'confidential client (private_key_jwt)',
      client: appClient,
      store: appStore,
      inbox: appInbox,
      coop: a,
      input: a.handle,
      keyset,
      clientId: appMeta.client_id,
    })
    await fullFlow({
      label: 'loopback client, coop-b member (second cooperative)',
      client: loopClient,
      store: loopStore,
      inbox: loopInbox,
      coop: COOPS.b,
      input: COOPS.b.handle,
      clientId: loopMeta.client_id,
    })
    await fullFlow({
      label: 'confidential client, coop-b member (second cooperative)',
      client: appClient,
      store: appStore,
      inbox: appInbox,
      coop: COOPS.b,
      input: COOPS.b.handle,
      keyset,
      clientId: appMeta.client_id,
    })
  } finally {
    await browser.close()
    loopServer.close()
    granularServer.close()
    appServer.close()
  }

  for (const n of notes) console.log(`# ${n}`)
  if (SCREENSHOTS) console.log(`# screenshots written to ${SCREENSHOTS}`)
  console.log(`${passed} passed, ${failed} failed`)
  process.exitCode = failed === 0 && passed > 0 ? 0 : 1
}

main()
  .catch((err) => {
    console.log(`not ok - suite aborted (${describe(err)})`)
    failed++
    console.log(`${passed} passed, ${failed} failed`)
    process.exitCode = 1
  })
  .finally(async () => {
    await browser?.close().catch(() => {})
    process.exit(process.exitCode ?? 1)
  })
