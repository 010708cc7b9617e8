// Ids as the protocol spells them (16 random bytes, unpadded base64url: 22 characters) and opaque
// payloads of a given size, for tests in Node and in workerd alike (Web Crypto and btoa only).

function base64url(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 8192)
    binary += String.fromCharCode(...bytes.subarray(i, i + 8192));
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** A fresh room or participant id. */
export function randomId(): string {
  return base64url(crypto.getRandomValues(new Uint8Array(16)));
}

/** base64url of `length` bytes (content irrelevant to the server, which only checks size). */
export function opaque(length: number, fill = 0x61): string {
  return base64url(new Uint8Array(length).fill(fill));
}
