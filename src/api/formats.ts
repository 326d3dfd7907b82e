/**
 * String formats of the Kubernetes API (k8s.io/apimachinery/pkg/util/validation).
 * Each check returns undefined when the value is fine, else a message that says what a valid value
 * looks like, so the user can fix it without reading the spec.
 */

export interface Format {
  readonly name: string;
  check(value: string): string | undefined;
}

const LABEL_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1035_RE = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const QUALIFIED_NAME_RE = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE_RE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const CONFIG_KEY_RE = /^[-._a-zA-Z0-9]+$/;
const IANA_SVC_RE = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

function show(value: string): string {
  return JSON.stringify(value.length > 70 ? `${value.slice(0, 67)}...` : value);
}

function format(name: string, check: (value: string) => string | undefined): Format {
  return { name, check };
}

export const dns1123Label = format('DNS-1123 label', (v) => {
  if (v.length > 63) return `${show(v)} is longer than 63 characters`;
  if (!LABEL_RE.test(v)) {
    return `${show(v)} is not a valid DNS-1123 label: use lowercase letters, digits and '-', starting and ending with a letter or digit (e.g. "my-name")`;
  }
  return undefined;
});

export const dns1035Label = format('DNS-1035 label', (v) => {
  if (v.length > 63) return `${show(v)} is longer than 63 characters`;
  if (!DNS1035_RE.test(v)) {
    return `${show(v)} is not a valid DNS-1035 label: use lowercase letters, digits and '-', starting with a letter and ending with a letter or digit (e.g. "my-name")`;
  }
  return undefined;
});

export const dns1123Subdomain = format('DNS-1123 subdomain', (v) => {
  if (v.length > 253) return `${show(v)} is longer than 253 characters`;
  if (!v.split('.').every((part) => LABEL_RE.test(part))) {
    return `${show(v)} is not a valid DNS-1123 subdomain: use lowercase letters, digits, '-' and '.', starting and ending with a letter or digit (e.g. "example.com")`;
  }
  return undefined;
});

/** A port name (IANA_SVC_NAME): what Kubernetes requires of container and service port names. */
export const portName = format('port name', (v) => {
  if (v.length > 15) return `port name ${show(v)} is longer than 15 characters`;
  if (!IANA_SVC_RE.test(v) || v.includes('--') || !/[a-z]/.test(v)) {
    return `port name ${show(v)} is invalid: use at most 15 lowercase letters, digits and single '-', with at least one letter (e.g. "http", "grpc-web")`;
  }
  return undefined;
});

/** Label and annotation keys: an optional DNS subdomain prefix and '/', then a name of at most 63 characters. */
export const qualifiedName = format('qualified name', (v) => {
  const slash = v.indexOf('/');
  const prefix = slash < 0 ? undefined : v.slice(0, slash);
  const name = slash < 0 ? v : v.slice(slash + 1);
  if (prefix !== undefined) {
    if (prefix.length === 0) return `key ${show(v)} has an empty prefix before '/'`;
    const bad = dns1123Subdomain.check(prefix);
    if (bad) return `the prefix of key ${show(v)} must be a DNS-1123 subdomain (e.g. "example.com/")`;
  }
  if (name.length === 0) return `key ${show(v)} has an empty name`;
  if (name.length > 63) return `the name part of key ${show(v)} is longer than 63 characters`;
  if (!QUALIFIED_NAME_RE.test(name)) {
    return `key ${show(v)} is invalid: use letters, digits, '-', '_' and '.', starting and ending with a letter or digit, with an optional DNS prefix and '/' (e.g. "app", "example.com/tier")`;
  }
  return undefined;
});

export const labelValue = format('label value', (v) => {
  if (v.length > 63) return `label value ${show(v)} is longer than 63 characters`;
  if (!LABEL_VALUE_RE.test(v)) {
    return `label value ${show(v)} is invalid: use letters, digits, '-', '_' and '.', starting and ending with a letter or digit, or leave it empty`;
  }
  return undefined;
});

/** Keys of ConfigMap and Secret data. */
export const configKey = format('data key', (v) => {
  if (v.length > 253) return `key ${show(v)} is longer than 253 characters`;
  if (!CONFIG_KEY_RE.test(v) || v === '.' || v === '..') {
    return `key ${show(v)} is invalid: use letters, digits, '-', '_' and '.' (it becomes a file name in volumes)`;
  }
  return undefined;
});

export const envVarName = format('environment variable name', (v) => {
  if (v.length === 0) return 'the name is empty';
  if (v.includes('=') || !/^[\x20-\x7e]+$/.test(v)) {
    return `environment variable name ${show(v)} is invalid: use printable ASCII without '=' (e.g. "LOG_LEVEL")`;
  }
  return undefined;
});

export const absolutePath = format('absolute path', (v) => {
  if (!v.startsWith('/')) return `${show(v)} is not an absolute path: start it with '/'`;
  return undefined;
});

/** A relative path without '..' elements (subPath, KeyToPath.path). */
export const relativePath = format('relative path', (v) => {
  if (v.startsWith('/')) return `${show(v)} must be a relative path (no leading '/')`;
  if (v.split('/').includes('..')) return `${show(v)} must not contain '..'`;
  return undefined;
});

export const ipAddress = format('IP address', (v) => {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(v);
  if (v4 && v4.slice(1).every((octet) => Number(octet) <= 255 && !/^0\d/.test(octet))) return undefined;
  if (v.includes(':') && /^[0-9a-fA-F:.]+$/.test(v) && (v.match(/::/g) ?? []).length <= 1) return undefined;
  return `${show(v)} is not a valid IP address (e.g. "10.0.0.1" or "fd00::1")`;
});

export const cidr = format('CIDR', (v) => {
  const slash = v.indexOf('/');
  const bits = Number(v.slice(slash + 1));
  const ip = v.slice(0, slash);
  const max = ip.includes(':') ? 128 : 32;
  if (slash < 0 || ipAddress.check(ip) || !/^\d{1,3}$/.test(v.slice(slash + 1)) || bits > max) {
    return `${show(v)} is not a valid CIDR (e.g. "10.0.0.0/16")`;
  }
  return undefined;
});

export const duration = format('duration', (v) => {
  if (!/^(\d+(\.\d+)?(h|m|s|ms|us|µs|ns))+$/.test(v)) return `${show(v)} is not a duration (e.g. "1.5s", "300ms", "1m")`;
  return undefined;
});

/** Standard base64 with padding, as Kubernetes stores Secret data. */
export const base64 = format('base64', (v) => {
  const compact = v.replace(/[\r\n]/g, '');
  if (compact.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(compact)) {
    return 'is not valid base64; encode the value (e.g. `printf %s "$VALUE" | base64 -w0`) or put the plain text under stringData instead';
  }
  return undefined;
});
