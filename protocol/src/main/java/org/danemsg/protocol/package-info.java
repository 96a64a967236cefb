/**
 * The danemsg protocol library: device identities (key + self-signed certificate files), DANE TLSA
 * records, DNSSEC-validated discovery of peers' keys, and the signed-then-encrypted message envelope.
 *
 * <p>Entry points: {@link org.danemsg.protocol.DnsName} (a validated DNS name),
 * {@link org.danemsg.protocol.DeviceIdentity} and {@link org.danemsg.protocol.IdentityFiles} (keys on
 * disk), {@link org.danemsg.protocol.TlsaRecord} (DANE records) and {@link org.danemsg.protocol.Envelope}
 * (seal and open messages). The library has no threads and no global state besides registering its
 * JCA providers (Bouncy Castle, Conscrypt where it loads; see {@link org.danemsg.protocol.CryptoProviders}).
 */
package org.danemsg.protocol;
