import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateObject } from '../../validate.js';
import { assertClean, assertIssue, errorsOf, warningsOf, yaml } from './test-support.js';

const VS_HEAD = yaml`
  apiVersion: networking.istio.io/v1
  kind: VirtualService
  metadata:
    name: reviews
  spec:
    hosts:
    - reviews
    http:
`;

/** VS_HEAD followed by `body` indented under spec.http (the body's first line is line 9). */
function vs(body: string): string {
  return VS_HEAD + body.split('\n').map((l) => (l ? `  ${l}` : l)).join('\n');
}

const TO_REVIEWS = '  - destination: {host: reviews}';

describe('VirtualService: Istio documentation examples load clean', () => {
  it('bookinfo virtual-service-reviews-90-10', () => {
    assertClean(vs(yaml`
      - route:
        - destination:
            host: reviews
            subset: v1
          weight: 90
        - destination:
            host: reviews
            subset: v2
          weight: 10
    `));
  });

  it('bookinfo virtual-service-reviews-test-v2 (header match)', () => {
    assertClean(vs(yaml`
      - match:
        - headers:
            end-user:
              exact: jason
        route:
        - destination:
            host: reviews
            subset: v2
      - route:
        - destination:
            host: reviews
            subset: v1
    `));
  });

  it('fault injection: delay for one user, abort with percentage (v1alpha3 and v1beta1 too)', () => {
    for (const version of ['v1', 'v1beta1', 'v1alpha3']) {
      assertClean(yaml`
        apiVersion: networking.istio.io/${version}
        kind: VirtualService
        metadata:
          name: ratings
        spec:
          hosts:
          - ratings
          http:
          - match:
            - headers:
                end-user:
                  exact: jason
            fault:
              delay:
                percentage:
                  value: 100.0
                fixedDelay: 7s
            route:
            - destination:
                host: ratings
                subset: v1
          - fault:
              abort:
                percentage:
                  value: 10
                httpStatus: 500
            route:
            - destination:
                host: ratings
                subset: v1
      `);
    }
  });

  it('request timeouts and retries', () => {
    assertClean(vs(yaml`
      - route:
        - destination:
            host: reviews
            subset: v2
        timeout: 0.5s
        retries:
          attempts: 3
          perTryTimeout: 2s
          retryOn: gateway-error,connect-failure,refused-stream,503
    `));
  });

  it('mirroring with mirrorPercentage', () => {
    assertClean(vs(yaml`
      - route:
        - destination:
            host: httpbin
            subset: v1
          weight: 100
        mirror:
          host: httpbin
          subset: v2
        mirrorPercentage:
          value: 100.0
    `));
  });

  it('ingress: bookinfo gateway routes and httpbin with a destination port', () => {
    assertClean(yaml`
      apiVersion: networking.istio.io/v1
      kind: VirtualService
      metadata:
        name: bookinfo
      spec:
        hosts:
        - "*"
        gateways:
        - bookinfo-gateway
        http:
        - match:
          - uri:
              exact: /productpage
          - uri:
              prefix: /static
          - uri:
              exact: /login
          - uri:
              exact: /logout
          - uri:
              prefix: /api/v1/products
          route:
          - destination:
              host: productpage
              port:
                number: 9080
      ---
      apiVersion: networking.istio.io/v1
      kind: VirtualService
      metadata:
        name: httpbin
      spec:
        hosts:
        - "httpbin.example.com"
        gateways:
        - httpbin-gateway
        http:
        - match:
          - uri:
              prefix: /status
          - uri:
              prefix: /delay
          route:
          - destination:
              port:
                number: 8000
              host: httpbin
    `, 2);
  });

  it('request routing: virtual-service-all-v1 (four VirtualServices in one file)', () => {
    const text = ['productpage', 'reviews', 'ratings', 'details']
      .map((h) => `apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata:\n  name: ${h}\nspec:\n  hosts:\n  - ${h}\n  http:\n  - route:\n    - destination:\n        host: ${h}\n        subset: v1\n`)
      .join('---\n');
    assertClean(text, 4);
  });

  it('TCP traffic shifting (tcp-echo 80/20 through a TCP gateway) is refused at apply, not ignored: no TCP gateway, no weighted TCP split', () => {
    const text = yaml`
      apiVersion: networking.istio.io/v1
      kind: Gateway
      metadata:
        name: tcp-echo-gateway
      spec:
        selector:
          istio: ingressgateway
        servers:
        - port:
            number: 31400
            name: tcp
            protocol: TCP
          hosts:
          - "*"
      ---
      apiVersion: networking.istio.io/v1
      kind: VirtualService
      metadata:
        name: tcp-echo
      spec:
        hosts:
        - "*"
        gateways:
        - tcp-echo-gateway
        tcp:
        - match:
          - port: 31400
          route:
          - destination:
              host: tcp-echo
              port:
                number: 9000
              subset: v1
            weight: 80
          - destination:
              host: tcp-echo
              port:
                number: 9000
              subset: v2
            weight: 20
    `;
    assertIssue(text, 'istio.yaml:12:17: spec.servers[0].port.protocol', 'protocol TCP is not supported by meshbox yet');
    assertIssue(text, 'istio.yaml:25:3: spec.tcp', 'tcp routes apply to sidecars only');
    assertIssue(text, 'istio.yaml:35:7: spec.tcp[0].route[1]', 'weighted TCP splits are not supported yet');
  });

  it('loads a tcp route with one destination for sidecars, and refuses what the proxy cannot do with it', () => {
    const head = (body: string) => yaml`
      apiVersion: networking.istio.io/v1
      kind: VirtualService
      metadata: {name: mongo}
      spec:
        hosts: [mongodb]
    ` + body.split('\n').map((l) => (l ? `  ${l}` : l)).join('\n');
    assertClean(head(yaml`
      tcp:
      - match: [{port: 27017, gateways: [mesh]}]
        route:
        - destination: {host: mongodb, subset: v2, port: {number: 27017}}
    `));
    assertIssue(head(yaml`
      tcp:
      - match: [{port: 27017, sourceLabels: {app: a}}]
        route: [{destination: {host: mongodb}}]
    `), 'istio.yaml:7:27: spec.tcp[0].match[0].sourceLabels', 'meshbox does not support tcp match.sourceLabels yet');
    assertIssue(head(yaml`
      tcp:
      - match: [{port: 27017, gateways: [edge]}]
        route: [{destination: {host: mongodb}}]
    `), 'istio.yaml:7:27: spec.tcp[0].match[0].gateways', 'this match never applies');
  });

  it('headers, rewrite, redirect, directResponse, matches on method, authority, query and absence', () => {
    assertClean(vs(yaml`
      - name: legacy
        match:
        - uri: {prefix: /old}
          ignoreUriCase: true
          method: {exact: GET}
          authority: {regex: 'reviews(\\.shop)?(:9080)?'}
          queryParams: {debug: {exact: "1"}, trace: {}}
          withoutHeaders: {x-canary: {}}
          sourceLabels: {app: productpage}
          port: 9080
          gateways: [mesh]
        redirect: {uri: /new, redirectCode: 308}
      - match:
        - uri: {exact: /health}
        directResponse:
          status: 200
          body: {string: ok}
      - match:
        - uri: {prefix: /v2/}
        rewrite: {uri: /, authority: reviews-v2}
        headers:
          request:
            set: {x-route: v2}
            remove: [x-debug]
          response:
            add: {x-served-by: reviews}
        route:
        - destination: {host: reviews, subset: v2, port: {number: 9080}}
          headers:
            request: {set: {x-subset: v2}}
    `));
    assertClean(yaml`
      apiVersion: networking.istio.io/v1
      kind: VirtualService
      metadata: {name: reviews}
      spec:
        hosts: [reviews.shop.svc.cluster.local]
        exportTo: [".", "istio-system"]
        http:
        - route:
          - destination: {host: reviews, subset: v1}
            weight: 80
          - destination: {host: reviews, subset: v2}
            weight: 20
    `);
  });

  it('refuses direct response bytes that are not UTF-8 (the proxy carries the body as text)', () => {
    assertIssue(vs(yaml`
      - directResponse:
          status: 200
          body: {bytes: "/w=="}
    `), 'istio.yaml:11:21: spec.http[0].directResponse.body.bytes', 'these bytes are not UTF-8');
    assert.deepEqual(errorsOf(vs(yaml`
      - directResponse:
          status: 200
          body: {bytes: "aGVsbG8="}
    `)), []);
  });

  it('refuses header operations on one destination of a split (the proxy has no per-destination slot)', () => {
    assertIssue(vs(yaml`
      - route:
        - destination: {host: reviews, subset: v1}
          weight: 90
        - destination: {host: reviews, subset: v2}
          weight: 10
          headers:
            request: {set: {x-canary: "1"}}
    `), 'istio.yaml:14:7: spec.http[0].route[1].headers', 'move them to the rule\'s headers');
  });

  it('warns that ignoreUriCase does nothing for a regex uri (Istio ignores case for exact and prefix only)', () => {
    const text = vs(yaml`
      - match:
        - uri: {regex: '/api/.*'}
          ignoreUriCase: true
        route:
        - destination: {host: reviews}
    `);
    assert.deepEqual(errorsOf(text), []);
    assertIssue(text, 'istio.yaml:11:7: spec.http[0].match[0].ignoreUriCase', 'no effect on a regex uri match', 'warnings');
  });
});

describe('VirtualService: errors point at the field', () => {
  const cases: { name: string; text: string; at: string; message: string }[] = [
    {
      name: 'weights of several destinations adding up to 0',
      text: vs(yaml`
        - route:
          - destination: {host: reviews, subset: v1}
          - destination: {host: reviews, subset: v2}
      `),
      at: 'istio.yaml:9:5: spec.http[0].route',
      message: 'the destination weights add up to 0',
    },
    {
      name: 'a negative weight',
      text: vs(yaml`
        - route:
          - destination: {host: reviews}
            weight: -10
      `),
      at: 'istio.yaml:11:15: spec.http[0].route[0].weight',
      message: 'must be between 0 and 2147483647, got -10',
    },
    {
      name: 'route and redirect together',
      text: vs(yaml`
        - route:
          ${TO_REVIEWS}
          redirect: {uri: /v2}
      `),
      at: 'istio.yaml:11:5: spec.http[0].redirect',
      message: 'an http route takes only one of route, redirect or directResponse, but route is set too',
    },
    {
      name: 'neither route, redirect nor directResponse',
      text: vs(yaml`
        - name: nothing
          timeout: 1s
      `),
      at: 'istio.yaml:9:5: spec.http[0]',
      message: 'an http route needs one of route, redirect or directResponse',
    },
    {
      name: 'a duration that does not parse',
      text: vs(yaml`
        - route:
          ${TO_REVIEWS}
          timeout: 5sec
      `),
      at: 'istio.yaml:11:14: spec.http[0].timeout',
      message: '"5sec" is not a duration; write it as "1s", "500ms", "1m30s" or "1h"',
    },
    {
      name: 'a duration under a millisecond',
      text: vs(yaml`
        - route:
          ${TO_REVIEWS}
          retries: {attempts: 2, perTryTimeout: 100us}
      `),
      at: 'istio.yaml:11:43: spec.http[0].retries.perTryTimeout',
      message: 'durations must be at least 1ms',
    },
    {
      name: 'a percentage over 100',
      text: vs(yaml`
        - fault:
            abort:
              httpStatus: 503
              percentage: {value: 150}
          route:
          ${TO_REVIEWS}
      `),
      at: 'istio.yaml:12:29: spec.http[0].fault.abort.percentage.value',
      message: 'must be between 0 and 100, got 150',
    },
    {
      name: 'an unknown retryOn condition',
      text: vs(yaml`
        - retries:
            attempts: 3
            retryOn: 5xx,connect-failur
          route:
          ${TO_REVIEWS}
      `),
      at: 'istio.yaml:11:16: spec.http[0].retries.retryOn',
      message: 'unknown condition "connect-failur", did you mean connect-failure?',
    },
    {
      name: 'a retryOn condition far from any known one',
      text: vs(yaml`
        - retries: {attempts: 2, retryOn: "5xx,on-a-whim"}
          route:
          ${TO_REVIEWS}
      `),
      at: 'istio.yaml:9:37: spec.http[0].retries.retryOn',
      message: 'unknown condition "on-a-whim"; use 5xx, gateway-error',
    },
    {
      name: 'a regex with a lookahead RE2 refuses',
      text: vs(yaml`
        - match:
          - uri:
              regex: "/api(?!/internal).*"
          route:
          ${TO_REVIEWS}
      `),
      at: 'istio.yaml:11:16: spec.http[0].match[0].uri.regex',
      message: 'lookaround assertions',
    },
    {
      name: 'a regex with a backreference',
      text: vs(yaml`
        - match:
          - headers:
              x-pair: {regex: '(a+)-\\1'}
          route:
          ${TO_REVIEWS}
      `),
      at: 'istio.yaml:11:25: spec.http[0].match[0].headers.x-pair.regex',
      message: 'backreferences',
    },
    {
      name: 'a regex that does not compile',
      text: vs(yaml`
        - match:
          - uri: {regex: "/api/(v1"}
          route:
          ${TO_REVIEWS}
      `),
      at: 'istio.yaml:10:20: spec.http[0].match[0].uri.regex',
      message: 'does not compile',
    },
    {
      name: 'a string match with two kinds',
      text: vs(yaml`
        - match:
          - uri: {exact: /a, prefix: /b}
          route:
          ${TO_REVIEWS}
      `),
      at: 'istio.yaml:10:24: spec.http[0].match[0].uri.prefix',
      message: 'only one of exact, prefix, regex may be set, but exact is set too',
    },
    {
      name: 'an empty uri match',
      text: vs(yaml`
        - match:
          - uri: {}
          route:
          ${TO_REVIEWS}
      `),
      at: 'istio.yaml:10:7: spec.http[0].match[0].uri',
      message: 'set one of exact, prefix or regex',
    },
    {
      name: 'a misspelt field',
      text: vs(yaml`
        - rout:
          ${TO_REVIEWS}
      `),
      at: 'istio.yaml:9:5: spec.http[0].rout',
      message: 'unknown field, did you mean route?',
    },
    {
      name: 'an invalid subset name',
      text: vs(yaml`
        - route:
          - destination: {host: reviews, subset: V1_beta}
      `),
      at: 'istio.yaml:10:44: spec.http[0].route[0].destination.subset',
      message: 'not a valid DNS-1123 label',
    },
    {
      name: 'an abort status out of range',
      text: vs(yaml`
        - fault: {abort: {httpStatus: 99, percentage: {value: 1}}}
          route:
          ${TO_REVIEWS}
      `),
      at: 'istio.yaml:9:33: spec.http[0].fault.abort.httpStatus',
      message: 'must be between 200 and 599, got 99',
    },
    {
      name: 'a fault with neither delay nor abort',
      text: vs(yaml`
        - fault: {}
          route:
          ${TO_REVIEWS}
      `),
      at: 'istio.yaml:9:5: spec.http[0].fault',
      message: 'a fault needs delay or abort',
    },
    {
      name: 'a redirect code meshbox cannot send',
      text: vs(yaml`
        - redirect: {uri: /x, redirectCode: 300}
      `),
      at: 'istio.yaml:9:39: spec.http[0].redirect.redirectCode',
      message: 'meshbox redirects with 301, 302, 303, 307 or 308, not 300',
    },
    {
      name: 'fault with a redirect (Istio refuses it)',
      text: vs(yaml`
        - redirect: {uri: /x}
          fault: {abort: {httpStatus: 503, percentage: {value: 1}}}
      `),
      at: 'istio.yaml:10:5: spec.http[0].fault',
      message: 'fault cannot be combined with redirect',
    },
    {
      name: 'a direct response body with both string and bytes',
      text: vs(yaml`
        - directResponse: {status: 200, body: {string: ok, bytes: b2s=}}
      `),
      at: 'istio.yaml:9:54: spec.http[0].directResponse.body.bytes',
      message: 'only one of string, bytes may be set',
    },
    {
      name: 'mirrorPercentage without mirror',
      text: vs(yaml`
        - route:
          ${TO_REVIEWS}
          mirrorPercentage: {value: 5}
      `),
      at: 'istio.yaml:11:5: spec.http[0].mirrorPercentage',
      message: 'a mirror percentage needs mirror',
    },
    {
      name: 'withoutHeaders with a value match the proxy cannot negate',
      text: vs(yaml`
        - match:
          - withoutHeaders: {x-canary: {exact: "true"}}
          route:
          ${TO_REVIEWS}
      `),
      at: 'istio.yaml:10:34: spec.http[0].match[0].withoutHeaders.x-canary',
      message: 'meshbox does not support withoutHeaders with a value match yet',
    },
    {
      name: 'a header name that is not a token',
      text: vs(yaml`
        - headers: {request: {set: {"x user": a}}}
          route:
          ${TO_REVIEWS}
      `),
      at: 'istio.yaml:9:31: spec.http[0].headers.request.set[x user]',
      message: 'header name "x user" is invalid',
    },
    {
      name: 'setting the Host header',
      text: vs(yaml`
        - headers: {request: {set: {Host: other}}}
          route:
          ${TO_REVIEWS}
      `),
      at: 'istio.yaml:9:31: spec.http[0].headers.request.set.Host',
      message: 'header "Host" cannot be changed here; use rewrite.authority',
    },
    {
      name: 'a header value with a line break',
      text: vs(yaml`
        - headers: {response: {add: {x-a: "a\\r\\nset-cookie: x"}}}
          route:
          ${TO_REVIEWS}
      `),
      at: 'istio.yaml:9:37: spec.http[0].headers.response.add.x-a',
      message: 'header values cannot contain line breaks',
    },
    {
      name: 'exportTo with "*" and a namespace',
      text: yaml`
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: r}
        spec:
          hosts: [reviews]
          exportTo: ["*", shop]
          http: [{route: [{destination: {host: reviews}}]}]
      `,
      at: 'istio.yaml:6:14: spec.exportTo[0]',
      message: '"*" exports to every namespace',
    },
    {
      name: 'the wildcard host "*" for sidecars',
      text: yaml`
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: all}
        spec:
          hosts: ["*"]
          http: [{route: [{destination: {host: reviews}}]}]
      `,
      at: 'istio.yaml:5:11: spec.hosts[0]',
      message: 'the wildcard host "*" is only allowed for VirtualServices bound to gateways',
    },
    {
      name: 'no hosts',
      text: yaml`
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: none}
        spec:
          http: [{route: [{destination: {host: reviews}}]}]
      `,
      at: 'istio.yaml:5:3: spec.hosts',
      message: 'required field is missing',
    },
    {
      name: 'an apiVersion Istio never had',
      text: yaml`
        apiVersion: networking.istio.io/v2
        kind: VirtualService
        metadata: {name: r}
        spec:
          hosts: [reviews]
          http: [{route: [{destination: {host: reviews}}]}]
      `,
      at: 'istio.yaml:1:13: apiVersion',
      message: 'networking.istio.io/v1 or networking.istio.io/v1beta1 or networking.istio.io/v1alpha3',
    },
  ];
  for (const c of cases) it(c.name, () => assertIssue(c.text, c.at, c.message));
});

describe('VirtualService: warnings', () => {
  it('accepts the deprecated integer fault percent with a warning, not an error', () => {
    const text = vs(yaml`
      - fault:
          abort:
            httpStatus: 503
            percent: 50
          delay:
            fixedDelay: 2s
            percent: 10
        route:
        ${TO_REVIEWS}
    `);
    assert.deepEqual(errorsOf(text), []);
    assertIssue(text, 'istio.yaml:12:9: spec.http[0].fault.abort.percent', 'deprecated: the integer percent is deprecated and current Istio no longer reads it on abort; meshbox still honours it', 'warnings');
    assertIssue(text, 'istio.yaml:15:9: spec.http[0].fault.delay.percent', 'deprecated', 'warnings');
  });

  it('still checks the deprecated percent', () => {
    assertIssue(vs(yaml`
      - fault: {abort: {httpStatus: 503, percent: 101}}
        route:
        ${TO_REVIEWS}
    `), 'istio.yaml:9:47: spec.http[0].fault.abort.percent', 'must be between 0 and 100, got 101');
  });

  it('warns when weights do not add up to 100 and when a destination gets nothing', () => {
    const text = vs(yaml`
      - route:
        - destination: {host: reviews, subset: v1}
          weight: 60
        - destination: {host: reviews, subset: v2}
          weight: 60
        - destination: {host: reviews, subset: v3}
    `);
    assert.deepEqual(errorsOf(text), []);
    assert.deepEqual(warningsOf(text), [
      'istio.yaml:9:5: spec.http[0].route: the destination weights add up to 120, not 100; each destination gets weight/120 of the traffic',
      'istio.yaml:14:7: spec.http[0].route[2]: this destination has no weight (0), so it gets no traffic; give it a weight if it should',
    ]);
  });

  it('warns about timeouts and retries that a redirect makes pointless', () => {
    const text = vs(yaml`
      - redirect: {authority: new.example.com}
        timeout: 2s
    `);
    assert.deepEqual(errorsOf(text), []);
    assertIssue(text, 'istio.yaml:10:5: spec.http[0].timeout', 'timeout has no effect with redirect', 'warnings');
  });
});

describe('VirtualService: what meshbox cannot do is an error naming the field', () => {
  const route = { destination: { host: 'reviews' } };
  const base = (spec: Record<string, unknown>) => ({
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: { name: 'r' },
    spec: { hosts: ['reviews'], ...spec },
  });
  const cases: [string, Record<string, unknown>][] = [
    ['spec.tls', { tls: [{ match: [{ sniHosts: ['a'] }], route: [route] }], http: [{ route: [route] }] }],
    ['spec.http[0].delegate', { http: [{ delegate: { name: 'x' } }] }],
    ['spec.http[0].corsPolicy', { http: [{ route: [route], corsPolicy: { allowOrigins: [{ exact: '*' }] } }] }],
    ['spec.http[0].mirrors', { http: [{ route: [route], mirrors: [{ destination: { host: 'x' } }] }] }],
    ['spec.http[0].fault.abort.grpcStatus', { http: [{ route: [route], fault: { abort: { httpStatus: 503, grpcStatus: 'UNAVAILABLE' } } }] }],
    ['spec.http[0].fault.abort.http2Error', { http: [{ route: [route], fault: { abort: { httpStatus: 503, http2Error: 'x' } } }] }],
    ['spec.http[0].fault.delay.exponentialDelay', { http: [{ route: [route], fault: { delay: { fixedDelay: '1s', exponentialDelay: '1s' } } }] }],
    ['spec.http[0].match[0].sourceNamespace', { http: [{ match: [{ sourceNamespace: 'shop' }], route: [route] }] }],
    ['spec.http[0].match[0].statPrefix', { http: [{ match: [{ statPrefix: 'x' }], route: [route] }] }],
    ['spec.http[0].rewrite.uriRegexRewrite', { http: [{ route: [route], rewrite: { uri: '/', uriRegexRewrite: { match: 'a', rewrite: 'b' } } }] }],
    ['spec.http[0].redirect.derivePort', { http: [{ redirect: { uri: '/', derivePort: 'FROM_REQUEST_PORT' } }] }],
    ['spec.http[0].retries.retryIgnorePreviousHosts', { http: [{ route: [route], retries: { attempts: 1, retryIgnorePreviousHosts: true } }] }],
    ['spec.http[0].retries.backoff', { http: [{ route: [route], retries: { attempts: 1, backoff: '1s' } }] }],
    ['spec.http[0].mirrorPercent', { http: [{ route: [route], mirror: { host: 'x' }, mirrorPercent: 5 }] }],
    ['spec.http[0].match[0].scheme', { http: [{ match: [{ scheme: { exact: 'https' } }], route: [route] }] }],
    ['spec.tcp[0].match[0].destinationSubnets', { tcp: [{ match: [{ destinationSubnets: ['10.0.0.0/8'] }], route: [route] }] }],
  ];
  for (const [field, spec] of cases) {
    it(field, () => {
      const issues = validateObject(base(spec));
      const hit = issues.find((i) => i.field === field);
      assert.ok(hit, `no issue for ${field} among ${JSON.stringify(issues)}`);
      assert.match(hit.message, /^not supported by meshbox: /);
      const leaf = field.slice(field.lastIndexOf('.') + 1);
      assert.ok(hit.message.includes(leaf) || leaf === 'tls', `message should name ${leaf}: ${hit.message}`);
      assert.match(hit.message, /remove/);
    });
  }
});

describe('VirtualService: more of Istio\'s rules', () => {
  const cases: { name: string; text: string; at: string; message: string }[] = [
    {
      name: 'overlapping hosts',
      text: yaml`
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: r}
        spec:
          hosts: ["*.example.com", api.example.com]
          gateways: [shop-gateway]
          http: [{route: [{destination: {host: api}}]}]
      `,
      at: 'istio.yaml:5:28: spec.hosts[1]',
      message: 'host "api.example.com" overlaps hosts[0] "*.example.com"; list each host once',
    },
    {
      name: 'retry settings with attempts left out (0: retries off)',
      text: vs(yaml`
        - route:
          ${TO_REVIEWS}
          retries:
            perTryTimeout: 2s
      `),
      at: 'istio.yaml:12:7: spec.http[0].retries.attempts',
      message: 'retries are off (attempts is missing, so 0) but perTryTimeout is set',
    },
    {
      name: 'an empty prefix',
      text: vs(yaml`
        - match: [{uri: {prefix: ""}}]
          route:
          ${TO_REVIEWS}
      `),
      at: 'istio.yaml:9:28: spec.http[0].match[0].uri.prefix',
      message: 'must not be empty',
    },
    {
      name: 'a destination host "*"',
      text: vs(yaml`
        - route:
          - destination: {host: "*"}
      `),
      at: 'istio.yaml:10:27: spec.http[0].route[0].destination.host',
      message: 'a destination needs a real host, not "*"',
    },
    {
      name: 'a regex longer than Istio allows',
      text: vs(`- match: [{uri: {regex: "${'a'.repeat(1025)}"}}]\n${TO_REVIEWS.replace('  -', '  route:\n  -')}\n`),
      at: 'istio.yaml:9:27: spec.http[0].match[0].uri.regex',
      message: 'Istio allows at most 1024',
    },
    {
      name: 'a direct response body over 1 MiB',
      text: vs(`- directResponse: {status: 200, body: {string: "${'x'.repeat(1024 * 1024 + 1)}"}}\n`),
      at: 'istio.yaml:9:50: spec.http[0].directResponse.body.string',
      message: 'direct responses must be under 1 MiB',
    },
  ];
  for (const c of cases) it(c.name, () => assertIssue(c.text, c.at, c.message));

  it('warns about rules after a catch-all and about repeated matches, as Istio does', () => {
    const text = vs(yaml`
      - match: [{uri: {prefix: /a}}]
        route: [{destination: {host: a}}]
      - match: [{name: again, uri: {prefix: /a}}]
        route: [{destination: {host: b}}]
      - route: [{destination: {host: c}}]
      - match: [{uri: {prefix: /d}}]
        route: [{destination: {host: d}}]
    `);
    assert.deepEqual(errorsOf(text), []);
    assert.deepEqual(warningsOf(text), [
      'istio.yaml:11:13: spec.http[1].match[0]: this match is never used: rule [0] has the same match and comes first',
      'istio.yaml:14:5: spec.http[3]: this rule is never used: rule [2] before it has no match and takes every request; move the catch-all rule to the end',
    ]);
  });

  it('warns when a fault has no percentage or an abort no status (both inject nothing)', () => {
    const text = vs(yaml`
      - fault:
          delay: {fixedDelay: 1s}
          abort: {percentage: {value: 5}}
        route:
        ${TO_REVIEWS}
    `);
    assert.deepEqual(errorsOf(text), []);
    assertIssue(text, 'istio.yaml:10:7: spec.http[0].fault.delay', 'no percentage is set, and Istio then injects this fault into no request', 'warnings');
    assertIssue(text, 'istio.yaml:11:7: spec.http[0].fault.abort', 'abort has no httpStatus, so nothing is aborted', 'warnings');
  });
});
