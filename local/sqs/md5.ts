import { createHash } from 'node:crypto';

/** Message attribute value as SQS stores it (binary values as bytes). */
export interface StoredAttributeValue {
  DataType: string;
  StringValue?: string;
  BinaryValue?: Buffer;
}

export function md5Hex(text: string): string {
  return createHash('md5').update(text, 'utf8').digest('hex');
}

/**
 * MD5OfMessageAttributes exactly as SQS computes it (documented algorithm):
 * for each attribute sorted by name: len+name, len+DataType, a transport byte
 * (1 string, 2 binary), len+value; lengths are 4-byte big-endian.
 */
export function md5OfMessageAttributes(attributes: Record<string, StoredAttributeValue>): string | undefined {
  const names = Object.keys(attributes).sort();
  if (names.length === 0) return undefined;
  const hash = createHash('md5');
  const withLength = (bytes: Buffer): void => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    hash.update(length);
    hash.update(bytes);
  };
  for (const name of names) {
    const value = attributes[name];
    withLength(Buffer.from(name, 'utf8'));
    withLength(Buffer.from(value.DataType, 'utf8'));
    if (value.BinaryValue !== undefined) {
      hash.update(Buffer.from([2]));
      withLength(value.BinaryValue);
    } else {
      hash.update(Buffer.from([1]));
      withLength(Buffer.from(value.StringValue ?? '', 'utf8'));
    }
  }
  return hash.digest('hex');
}
