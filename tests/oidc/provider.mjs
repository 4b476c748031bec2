// A real OpenID Connect provider (oidc-provider 9) for PAX's SSO tests. Test-only; loopback only.
//
//   node tests/oidc/provider.mjs --config CONFIG.json [--port N] [--watch-stdin]
//
// Run with cwd = the repository root so that node_modules/oidc-provider resolves. The port comes
// from --port, else $OIDC_PROVIDER_PORT, else the config's "port", else 0 (a free port). Once
// listening on 127.0.0.1 it prints exactly one line "READY <port>" on stdout; everything else
// (oidc-provider notices, request errors) goes to stderr. SIGTERM/SIGINT close it cleanly, and
// with --watch-stdin it also exits when its stdin closes (the parent test process went away).
//
// CONFIG.json (all keys optional except clients/accounts being useful):
//   {
//     "issuer": "{origin}",              // "{origin}" = http://127.0.0.1:<port>; may differ from
//                                       // the listening address, e.g. "{origin}/other"
//     "clients": [{"client_id": "...", "client_secret": "...", "redirect_uris": ["..."],
//                  ...any other client metadata}],
//     "accounts": [{"sub": "...", "email": "...", "email_verified": true, "name": "...",
//                   "amr": ["pwd", "otp"], "acr": "urn:...", "password": "optional"}],
//     "admin_token": "random",            // enables POST /__admin/{accounts,clients,rotate-keys}
//     "signing_alg": "RS256",             // or "ES256": the signing key's algorithm
//     "id_token_claims": false            // true: a deployment that sets conformIdTokenClaims to
//                                       // false, putting email and name in the ID token too
//   }
//
// Everything else is oidc-provider's default configuration, as a company deployment runs it: in
// particular conformIdTokenClaims stays true, so a code flow that issues an access token gets
// only sub (and the session claims) in the ID token and email/name from the UserInfo endpoint
// (OpenID Connect Core 5.4). What a real deployment must configure is configured here too and
// says why where it is set.
//
// Flow: /auth redirects to our own interaction page GET /interaction/:uid (an HTML form with a
// "login" field = e-mail or sub; a "password" field only checked when the account has one).
// POST /interaction/:uid/login finishes the login (accountId, amr, acr) and the consent (a Grant
// with the requested OIDC scopes and claims) in one step, so the provider redirects straight to
// the client's redirect_uri with code, state and iss. POST /interaction/:uid/abort answers
// access_denied. A consent-only interaction (an existing session) is granted automatically on GET.

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';

import Provider from 'oidc-provider';

// --- arguments ---------------------------------------------------------------------------------

function parseArgs(argv) {
  const args = { config: undefined, port: undefined, watchStdin: false };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    if (arg === '--config') {
      args.config = argv[++i];
    } else if (arg.startsWith('--config=')) {
      args.config = arg.slice('--config='.length);
    } else if (arg === '--port') {
      args.port = argv[++i];
    } else if (arg.startsWith('--port=')) {
      args.port = arg.slice('--port='.length);
    } else if (arg === '--watch-stdin') {
      args.watchStdin = true;
    } else if (!arg.startsWith('-') && args.config === undefined) {
      args.config = arg;
    } else {
      throw new Error(`unknown argument ${arg}`);
    }
  }
  if (!args.config) {
    throw new Error('usage: provider.mjs --config CONFIG.json [--port N] [--watch-stdin]');
  }
  return args;
}

const args = parseArgs(process.argv.slice(2));
const config = JSON.parse(fs.readFileSync(args.config, 'utf8'));
const portSetting = args.port ?? process.env.OIDC_PROVIDER_PORT ?? config.port ?? 0;
const listenPort = Number.parseInt(String(portSetting), 10);
if (!Number.isInteger(listenPort) || listenPort < 0 || listenPort > 65535) {
  throw new Error(`invalid port ${portSetting}`);
}

// --- accounts ----------------------------------------------------------------------------------

const accounts = new Map(); // sub -> account

function addAccount(input) {
  if (!input || typeof input.sub !== 'string' || !input.sub) {
    throw new Error('account needs a non-empty string "sub"');
  }
  const account = {
    sub: input.sub,
    email: input.email,
    email_verified: input.email_verified ?? true,
    name: input.name,
    amr: input.amr ?? undefined,
    acr: input.acr ?? undefined,
    password: input.password ?? undefined,
    extra: input.extra_claims ?? {},
  };
  if (account.amr !== undefined
      && (!Array.isArray(account.amr) || !account.amr.every((v) => typeof v === 'string'))) {
    throw new Error(`account ${account.sub}: amr must be a list of strings`);
  }
  if (account.acr !== undefined && typeof account.acr !== 'string') {
    throw new Error(`account ${account.sub}: acr must be a string`);
  }
  accounts.set(account.sub, account);
  return account;
}

function accountByLogin(login) {
  const wanted = String(login ?? '').trim();
  if (!wanted) return undefined;
  if (accounts.has(wanted)) return accounts.get(wanted);
  const lower = wanted.toLowerCase();
  for (const account of accounts.values()) {
    if (typeof account.email === 'string' && account.email.toLowerCase() === lower) return account;
  }
  return undefined;
}

(config.accounts ?? []).forEach(addAccount);

async function findAccount(ctx, sub) {
  const account = accounts.get(sub);
  if (!account) return undefined;
  return {
    accountId: sub,
    // oidc-provider filters these by the granted scopes / requested claims.
    async claims() {
      return {
        ...account.extra,
        sub,
        email: account.email,
        email_verified: account.email_verified,
        name: account.name,
      };
    },
  };
}

// --- clients -----------------------------------------------------------------------------------

function clientMetadata(input) {
  if (!input || typeof input.client_id !== 'string' || !input.client_id) {
    throw new Error('client needs a non-empty string "client_id"');
  }
  return {
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    // A relying party registered with a provider that signs with EC keys only asks for ES256
    // (oidc-provider's client default is RS256, which such a keystore cannot sign).
    ...(signingAlg === 'ES256' ? { id_token_signed_response_alg: 'ES256' } : {}),
    ...input,
  };
}

// --- keys --------------------------------------------------------------------------------------

const signingAlg = config.signing_alg ?? 'RS256';
if (!['RS256', 'ES256'].includes(signingAlg)) {
  throw new Error(`signing_alg must be RS256 or ES256, not ${signingAlg}`);
}

// A deployment brings its own signing keys (oidc-provider's built-in key is for development
// only); rotation replaces them, and the next tokens carry the new key id.
function generateSigningKey() {
  const { privateKey } = signingAlg === 'ES256'
    ? crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' })
    : crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  return { ...jwk, kid: `test-${crypto.randomBytes(6).toString('hex')}`, alg: signingAlg, use: 'sig' };
}

let signingKeys = [generateSigningKey()];
const cookieKeys = [crypto.randomBytes(32).toString('base64url')];

// --- HTML --------------------------------------------------------------------------------------

function escapeHtml(value) {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ({
    '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
  })[c]);
}

function page(title, body) {
  return `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>
<body>
<h1>${escapeHtml(title)}</h1>
${body}
</body>
</html>
`;
}

function loginPage(uid, details, message) {
  const client = escapeHtml(details.params.client_id);
  const hint = escapeHtml(details.params.login_hint ?? '');
  return page('Test identity provider: sign in', `
<p>Client <code>${client}</code> asks for <code>${escapeHtml(details.params.scope)}</code>.</p>
${message ? `<p id="error" role="alert">${escapeHtml(message)}</p>` : ''}
<form id="login-form" method="post" action="/interaction/${escapeHtml(uid)}/login">
  <label>E-mail or subject <input name="login" value="${hint}" autofocus></label>
  <label>Password (only if the account has one) <input name="password" type="password"></label>
  <button type="submit">Sign in</button>
</form>
<form id="abort-form" method="post" action="/interaction/${escapeHtml(uid)}/abort">
  <button type="submit">Cancel</button>
</form>`);
}

function send(res, status, body, contentType = 'text/html; charset=utf-8') {
  res.statusCode = status;
  res.setHeader('Content-Type', contentType);
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(body);
}

function readBody(req, limit = 1024 * 1024) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size > limit) {
        reject(new Error('request body too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

// --- the provider ------------------------------------------------------------------------------

function buildProvider(issuer) {
  const configuration = {
    // Clients added at run time become static ones when the provider is rebuilt (key rotation).
    clients: [
      ...(config.clients ?? []).map(clientMetadata).filter((c) => !addedClients.has(c.client_id)),
      ...addedClients.values(),
    ],
    findAccount,
    jwks: { keys: signingKeys },
    cookies: { keys: cookieKeys },
    // The standard scope-to-claims mapping of OpenID Connect Core 5.4: without it a provider
    // releases nothing but sub. amr and acr ride with openid, as at company providers that report
    // how the user authenticated (Entra ID, Keycloak, Okta all do).
    claims: {
      openid: ['sub', 'amr', 'acr'],
      email: ['email', 'email_verified'],
      profile: ['name', 'family_name', 'given_name', 'preferred_username', 'locale', 'updated_at'],
      acr: null,
      auth_time: null,
      sid: null,
      iss: null,
    },
    // The authentication context classes the provider's logins report (acr), as a deployment
    // that signals MFA by acr lists them; oidc-provider releases acr only for listed values.
    acrValues: [...new Set([...accounts.values()].map((a) => a.acr).filter(Boolean))],
    ...(config.id_token_claims ? { conformIdTokenClaims: false } : {}),
    // PKCE for every client, confidential ones included, as the issue and OAuth 2.0 Security
    // BCP ask of deployments (oidc-provider's default requires it of public clients only).
    pkce: { required: () => true },
    features: {
      // Our own interaction pages below replace the development-only ones.
      devInteractions: { enabled: false },
      // Offered by providers that let relying parties end sessions when the user signs out
      // at the company (Back-Channel Logout 1.0).
      backchannelLogout: { enabled: true },
    },
    // oidc-provider refuses to call special-use addresses (its SSRF guard); PAX under test
    // listens on loopback, as relying parties on a company's internal network are reached, so
    // calls to loopback (back-channel logout tokens) go without the guard and all others with it.
    fetch(url, options) {
      const { hostname } = new URL(url);
      if (['127.0.0.1', 'localhost', '[::1]'].includes(hostname)) {
        const { dispatcher, ...rest } = options;
        return globalThis.fetch(url, rest);
      }
      return globalThis.fetch(url, options);
    },
    interactions: {
      url(ctx, interaction) {
        return `/interaction/${interaction.uid}`;
      },
    },
    renderError(ctx, out, error) {
      ctx.type = 'html';
      ctx.body = page('Test identity provider: error', `
<p id="error-code">${escapeHtml(out.error)}</p>
<p id="error-description">${escapeHtml(out.error_description)}</p>`);
      if (error && !(error.expose)) {
        process.stderr.write(`oidc-provider error: ${error.stack ?? error}\n`);
      }
    },
  };
  const provider = new Provider(issuer, configuration);
  provider.on('backchannel.error', (ctx, error, client) => {
    process.stderr.write(`backchannel logout to ${client.clientId} failed: ${error.stack ?? error}\n`);
  });
  provider.on('server_error', (ctx, error) => {
    process.stderr.write(`server_error ${ctx.method} ${ctx.path}: ${error.stack ?? error}\n`);
  });
  return provider;
}

async function grantFor(provider, details, accountId) {
  const { Grant } = provider;
  let grant;
  if (details.grantId) {
    grant = await Grant.find(details.grantId);
  }
  if (!grant || grant.accountId !== accountId) {
    grant = new Grant({ accountId, clientId: details.params.client_id });
  }
  const promptDetails = details.prompt?.name === 'consent' ? details.prompt.details ?? {} : {};
  // Everything the request asked for: the requested OIDC scopes and any claims-parameter claims.
  grant.addOIDCScope(promptDetails.missingOIDCScope?.join(' ') ?? String(details.params.scope ?? 'openid'));
  const requestedClaims = new Set(promptDetails.missingOIDCClaims ?? []);
  if (typeof details.params.claims === 'string') {
    try {
      const claims = JSON.parse(details.params.claims);
      for (const where of ['id_token', 'userinfo']) {
        Object.keys(claims?.[where] ?? {}).forEach((c) => requestedClaims.add(c));
      }
    } catch {
      // the provider already validated the claims parameter
    }
  }
  if (requestedClaims.size) grant.addOIDCClaims([...requestedClaims]);
  for (const [indicator, scopes] of Object.entries(promptDetails.missingResourceScopes ?? {})) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  return grant.save();
}

async function handleInteraction(provider, req, res, url) {
  const match = /^\/interaction\/([^/]+)(?:\/(login|abort))?\/?$/.exec(url.pathname);
  if (!match) {
    send(res, 404, page('Not found', '<p>No such interaction route.</p>'));
    return;
  }
  const [, uid, action] = match;
  let details;
  try {
    details = await provider.interactionDetails(req, res);
  } catch (error) {
    send(res, 400, page('Test identity provider: error', `<p id="error-code">${escapeHtml(error.message)}</p>`));
    return;
  }
  if (details.uid !== uid) {
    send(res, 400, page('Test identity provider: error', '<p id="error-code">interaction uid does not match the cookie</p>'));
    return;
  }

  if (!action) {
    if (req.method !== 'GET') {
      send(res, 405, page('Method not allowed', ''));
      return;
    }
    if (details.prompt.name === 'consent' && details.session?.accountId) {
      const grantId = await grantFor(provider, details, details.session.accountId);
      await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
      return;
    }
    send(res, 200, loginPage(uid, details));
    return;
  }

  if (req.method !== 'POST') {
    send(res, 405, page('Method not allowed', ''));
    return;
  }
  const form = new URLSearchParams(await readBody(req));

  if (action === 'abort') {
    await provider.interactionFinished(req, res, {
      error: 'access_denied',
      error_description: 'End-User aborted interaction',
    }, { mergeWithLastSubmission: false });
    return;
  }

  const account = accountByLogin(form.get('login'));
  if (!account) {
    send(res, 400, loginPage(uid, details, `unknown account ${form.get('login') ?? ''}`));
    return;
  }
  if (account.password !== undefined && form.get('password') !== account.password) {
    send(res, 400, loginPage(uid, details, 'wrong password'));
    return;
  }
  const login = { accountId: account.sub, remember: false };
  if (account.amr) login.amr = account.amr;
  if (account.acr) login.acr = account.acr;
  const grantId = await grantFor(provider, details, account.sub);
  await provider.interactionFinished(req, res, { login, consent: { grantId } }, { mergeWithLastSubmission: false });
}

async function handleAdmin(provider, req, res, url) {
  const token = config.admin_token;
  const auth = req.headers.authorization ?? '';
  if (!token || auth !== `Bearer ${token}`) {
    send(res, 401, '{"error":"unauthorized"}\n', 'application/json');
    return;
  }
  if (req.method !== 'POST') {
    send(res, 405, '{"error":"method not allowed"}\n', 'application/json');
    return;
  }
  let input;
  try {
    input = JSON.parse(await readBody(req));
  } catch (error) {
    send(res, 400, JSON.stringify({ error: `bad JSON: ${error.message}` }), 'application/json');
    return;
  }
  try {
    if (url.pathname === '/__admin/accounts') {
      const account = addAccount(input);
      send(res, 201, JSON.stringify({ sub: account.sub }), 'application/json');
    } else if (url.pathname === '/__admin/rotate-keys') {
      // The provider rotates its signing key: the old key id disappears from its JWKS.
      rotateKeys();
      send(res, 201, JSON.stringify({ kid: signingKeys[0].kid }), 'application/json');
    } else if (url.pathname === '/__admin/clients') {
      const metadata = clientMetadata(input);
      await provider.Client.validate(metadata);
      // Not a static client: stored through the adapter, where Client.find looks next.
      await provider.Client.adapter.upsert(metadata.client_id, metadata);
      addedClients.set(metadata.client_id, metadata);
      send(res, 201, JSON.stringify({ client_id: metadata.client_id }), 'application/json');
    } else {
      send(res, 404, '{"error":"not found"}\n', 'application/json');
    }
  } catch (error) {
    send(res, 400, JSON.stringify({ error: error.message, error_description: error.error_description }), 'application/json');
  }
}

// --- server ------------------------------------------------------------------------------------

let provider;
let providerCallback;
let currentIssuer;
const addedClients = new Map();

function rotateKeys() {
  signingKeys = [generateSigningKey()];
  provider = buildProvider(currentIssuer);
  providerCallback = provider.callback();
}

const server = http.createServer((req, res) => {
  if (!provider) {
    send(res, 503, 'starting\n', 'text/plain');
    return;
  }
  const url = new URL(req.url, 'http://127.0.0.1');
  let handler;
  if (url.pathname.startsWith('/interaction/')) {
    handler = handleInteraction(provider, req, res, url);
  } else if (url.pathname.startsWith('/__admin/')) {
    handler = handleAdmin(provider, req, res, url);
  } else {
    providerCallback(req, res);
    return;
  }
  handler.catch((error) => {
    process.stderr.write(`interaction error ${req.method} ${req.url}: ${error.stack ?? error}\n`);
    if (!res.headersSent) {
      send(res, 500, page('Test identity provider: error', `<p id="error-code">${escapeHtml(error.message)}</p>`));
    } else {
      res.end();
    }
  });
});

let stopping = false;
function shutdown(code = 0) {
  if (stopping) return;
  stopping = true;
  server.close(() => process.exit(code));
  server.closeAllConnections();
  setTimeout(() => process.exit(code), 2000).unref();
}
process.on('SIGTERM', () => shutdown(0));
process.on('SIGINT', () => shutdown(0));
if (args.watchStdin) {
  process.stdin.on('end', () => shutdown(0));
  process.stdin.on('close', () => shutdown(0));
  process.stdin.resume();
}

server.on('error', (error) => {
  process.stderr.write(`listen failed: ${error.stack ?? error}\n`);
  process.exit(1);
});

server.listen(listenPort, '127.0.0.1', () => {
  const { port } = server.address();
  const origin = `http://127.0.0.1:${port}`;
  const issuer = String(config.issuer ?? '{origin}').replaceAll('{origin}', origin).replaceAll('{port}', String(port));
  currentIssuer = issuer;
  try {
    provider = buildProvider(issuer);
    providerCallback = provider.callback();
  } catch (error) {
    process.stderr.write(`provider configuration failed: ${error.stack ?? error}\n`);
    process.exit(2);
  }
  process.stdout.write(`READY ${port}\n`);
});
