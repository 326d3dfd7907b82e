/**
 * Kubernetes resource quantities ("128Mi", "1G", "1e3", "500m", "0.5").
 *
 * Grammar (k8s.io/apimachinery resource.Quantity):
 *   quantity ::= [+-] number suffix;  number ::= digits | digits.digits | digits. | .digits
 *   suffix   ::= Ki|Mi|Gi|Ti|Pi|Ei | e[+-]digits | E[+-]digits | m|""|k|M|G|T|P|E
 * Arithmetic is exact (BigInt mantissa and power-of-ten exponent): "0.3" cores is 300 millicores,
 * never 300.00000000000006 rounded up to 301.
 */
import { InvalidQuantity } from './errors.js';

const QUANTITY_RE = /^([+-]?)(\d+(?:\.\d*)?|\.\d+)(?:(Ki|Mi|Gi|Ti|Pi|Ei)|[eE]([+-]?\d+)|(m|k|M|G|T|P|E)?)$/;

const BINARY_POW2: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };
const DECIMAL_EXP: Record<string, number> = { m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };

/** Larger values are surely typos and would make BigInt powers expensive. */
const MAX_EXP10 = 40;
const MAX_TEXT = 64;

export class Quantity {
  /** the quantity as written */
  readonly text: string;
  readonly #negative: boolean;
  readonly #mantissa: bigint;
  readonly #exp10: number;
  readonly #pow2: number;

  private constructor(text: string, negative: boolean, mantissa: bigint, exp10: number, pow2: number) {
    this.text = text;
    this.#negative = negative;
    this.#mantissa = mantissa;
    this.#exp10 = exp10;
    this.#pow2 = pow2;
  }

  /** Parses a quantity; YAML numbers (0.5, 2, 1e3) are accepted too. Throws MBX_API_INVALID_QUANTITY. */
  static parse(input: string | number): Quantity {
    const result = Quantity.tryParse(input);
    if (typeof result === 'string') throw InvalidQuantity(String(input), result);
    return result;
  }

  /** A Quantity, or the reason the input is not one. */
  static tryParse(input: unknown): Quantity | string {
    let text: string;
    if (typeof input === 'number') {
      if (!Number.isFinite(input)) return 'not a finite number';
      text = String(input);
    } else if (typeof input === 'string') {
      text = input;
    } else {
      return `expected a string or number, got ${input === null ? 'null' : typeof input}`;
    }
    if (text.length === 0) return 'empty';
    if (text.length > MAX_TEXT) return `longer than ${MAX_TEXT} characters`;
    const m = QUANTITY_RE.exec(text);
    if (!m) {
      if (/\s/.test(text)) return 'contains spaces';
      if (/^[+-]?(\d+\.?\d*|\.\d+)[a-zA-Z]+$/.test(text)) {
        return `unknown suffix "${text.replace(/^[+-]?[\d.]+/, '')}" (binary: Ki Mi Gi Ti Pi Ei; decimal: m k M G T P E)`;
      }
      return 'not a number with an optional suffix';
    }
    const [, sign = '', number = '', binary, exponent, decimal] = m;
    const dot = number.indexOf('.');
    const intPart = dot < 0 ? number : number.slice(0, dot);
    const fracPart = dot < 0 ? '' : number.slice(dot + 1);
    const mantissa = BigInt((intPart + fracPart).replace(/^0+(?=\d)/, '') || '0');
    let exp10 = -fracPart.length;
    let pow2 = 0;
    if (binary !== undefined) pow2 = BINARY_POW2[binary] ?? 0;
    else if (exponent !== undefined) exp10 += Number(exponent);
    else exp10 += DECIMAL_EXP[decimal ?? ''] ?? 0;
    const magnitude = intPart.replace(/^0+/, '').length + exp10 + fracPart.length + pow2 / 3;
    if (mantissa !== 0n && magnitude > MAX_EXP10) return 'too large';
    if (exp10 < -MAX_EXP10 - fracPart.length) return 'too small';
    return new Quantity(text, sign === '-' && mantissa !== 0n, mantissa, exp10, pow2);
  }

  get negative(): boolean {
    return this.#negative;
  }

  /** The value in base units (bytes, cores), rounded up to an integer, as Kubernetes' Value(). */
  value(): number {
    return Number(this.#scaledCeil(0));
  }

  /** The value in thousandths (millicores), rounded up, as Kubernetes' MilliValue(). */
  milliValue(): number {
    return Number(this.#scaledCeil(3));
  }

  /** -1, 0 or 1, exactly. */
  compare(other: Quantity): number {
    const [a, b] = [this.#fraction(), other.#fraction()];
    const left = a.num * b.den;
    const right = b.num * a.den;
    return left < right ? -1 : left > right ? 1 : 0;
  }

  toString(): string {
    return this.text;
  }

  #fraction(): { num: bigint; den: bigint } {
    let num = this.#mantissa * 2n ** BigInt(this.#pow2);
    let den = 1n;
    if (this.#exp10 >= 0) num *= 10n ** BigInt(this.#exp10);
    else den = 10n ** BigInt(-this.#exp10);
    return { num: this.#negative ? -num : num, den };
  }

  #scaledCeil(extraExp10: number): bigint {
    const { num, den } = this.#fraction();
    const scaled = num * 10n ** BigInt(extraExp10);
    const q = scaled / den;
    // BigInt division truncates toward zero: that is already the ceiling for negatives
    return scaled % den !== 0n && scaled > 0n ? q + 1n : q;
  }
}

/** Memory-style quantity in bytes: "128Mi" -> 134217728, "1G" -> 1e9, "1e3" -> 1000. */
export function quantityToBytes(input: string | number): number {
  return Quantity.parse(input).value();
}

/** CPU-style quantity in millicores: "500m" -> 500, "0.5" -> 500, "2" -> 2000. */
export function quantityToMillicores(input: string | number): number {
  return Quantity.parse(input).milliValue();
}
