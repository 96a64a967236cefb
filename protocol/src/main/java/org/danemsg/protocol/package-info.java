/**
 * The danemsg protocol library: device identities (key + self-signed certificate files), DANE TLSA
 * records, DNSSEC-validated discovery of peers' keys, and the signed-then-encrypted message envelope.
 *
 * <p>Entry points: {@link org.danemsg.protocol.DnsName} (a validated DNS name),
 * {@link org.danemsg.protocol.DeviceIdentity} and {@link org.danemsg.protocol.IdentityFiles} (keys on
 * disk), {@link org.danemsg.protocol.TlsaRecord} (DANE records) and {@link org.danemsg.protocol.Envelope}
 * (seal and open messages); for other untrusted input, {@link org.danemsg.protocol.SafeText} (text made
 * safe to print) and {@link org.danemsg.protocol.StrictJson} (RFC 8259 JSON objects, nothing else). The
 * library has no threads and no global state besides registering its
 * JCA providers (Bouncy Castle, Conscrypt and the Amazon Corretto Crypto Provider where they load; see {@link org.danemsg.protocol.CryptoProviders}).
 */
package org.danemsg.protocol;
