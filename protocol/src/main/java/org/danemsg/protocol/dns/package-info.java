/**
 * DNS for danemsg: DNSSEC-validated lookups of peers' TLSA records and TSIG-signed publishing of our
 * own.
 *
 * <p>Reading: {@link org.danemsg.protocol.dns.DaneLookup#create} with
 * {@link org.danemsg.protocol.dns.DaneLookup.Settings} (a {@link org.danemsg.protocol.dns.DnsServer},
 * {@link org.danemsg.protocol.dns.TrustAnchors}, a timeout), usually behind a
 * {@link org.danemsg.protocol.dns.TlsaCache} (which also bounds the DNS work hostile senders can cause:
 * lookups in flight, per zone, cached bytes, an optional {@link org.danemsg.protocol.dns.ZoneAllowlist});
 * every outcome is a {@link org.danemsg.protocol.dns.LookupResult}. Writing: {@link org.danemsg.protocol.dns.DnsPublisher}
 * with a {@link org.danemsg.protocol.dns.TsigKey}; outcomes are
 * {@link org.danemsg.protocol.dns.PublishResult}s. Nothing here throws for DNS trouble; configuration
 * mistakes (a bad server string, an unreadable anchor or key file) throw
 * {@link java.lang.IllegalArgumentException} with a message naming the input.
 */
package org.danemsg.protocol.dns;
