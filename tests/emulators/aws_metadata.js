// The two AWS credential endpoints abs can be pointed at, for tests: the EC2 instance
// metadata service (IMDSv2: a session token first, then the role and its credentials)
// and STS AssumeRoleWithWebIdentity (IRSA). Both hand out the key S3RVER / S3RVER, which
// tests/emulators/s3.js accepts, with a session token and an expiry an hour ahead.
// Prints {"port": N} once listening on 127.0.0.1; stops on SIGTERM.
//   node tests/emulators/aws_metadata.js <expected web identity token>
'use strict';
const http = require('http');

const [webToken] = process.argv.slice(2);
let sessions = 0;
const tokens = new Set();

function expiry() {
  return new Date(Date.now() + 3600 * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString();
    const send = (status, text, type = 'text/plain') => {
      res.writeHead(status, { 'Content-Type': type });
      res.end(text);
    };
    if (req.method === 'PUT' && req.url === '/latest/api/token') {
      if (!req.headers['x-aws-ec2-metadata-token-ttl-seconds']) return send(400, 'ttl missing');
      const token = `imds-session-${++sessions}`;
      tokens.add(token);
      return send(200, token);
    }
    if (req.url.startsWith('/latest/meta-data/')) {
      if (!tokens.has(req.headers['x-aws-ec2-metadata-token'])) return send(401, 'unauthorized');
      if (req.url === '/latest/meta-data/iam/security-credentials/') return send(200, 'abs-role');
      if (req.url === '/latest/meta-data/iam/security-credentials/abs-role') {
        return send(200, JSON.stringify({
          Code: 'Success', Type: 'AWS-HMAC', AccessKeyId: 'S3RVER',
          SecretAccessKey: 'S3RVER', Token: 'imds-session-token', Expiration: expiry(),
        }), 'application/json');
      }
      return send(404, 'not found');
    }
    if (req.method === 'POST' && req.url === '/') {
      const form = new URLSearchParams(body);
      if (form.get('Action') !== 'AssumeRoleWithWebIdentity' || !form.get('RoleArn')) {
        return send(400, '<ErrorResponse><Error><Code>InvalidAction</Code></Error></ErrorResponse>');
      }
      if (form.get('WebIdentityToken') !== webToken) {
        return send(400, '<ErrorResponse><Error><Code>InvalidIdentityToken</Code>' +
          '<Message>token rejected</Message></Error></ErrorResponse>', 'text/xml');
      }
      return send(200,
        '<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult><Credentials>' +
        '<AccessKeyId>S3RVER</AccessKeyId><SecretAccessKey>S3RVER</SecretAccessKey>' +
        `<SessionToken>web-identity-token</SessionToken><Expiration>${expiry()}</Expiration>` +
        '</Credentials></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>',
        'text/xml');
    }
    return send(404, 'not found');
  });
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: server.address().port }) + '\n');
});
process.on('SIGTERM', () => process.exit(0));
