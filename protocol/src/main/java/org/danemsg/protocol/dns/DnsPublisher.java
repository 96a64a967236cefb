package org.danemsg.protocol.dns;

import java.io.IOException;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.TimeoutException;
import org.danemsg.protocol.DnsName;
import org.danemsg.protocol.TlsaRecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.SOARecord;
import org.xbill.DNS.Section;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.TLSARecord;
import org.xbill.DNS.TSIGRecord;
import org.xbill.DNS.TextParseException;
import org.xbill.DNS.Type;
import org.xbill.DNS.Update;

/**
 * Publishes TLSA records with RFC 2136 DNS UPDATE messages signed with a {@link TsigKey}, sent to the
 * zone's primary server.
 *
 * <p>{@link #replace} makes one record the whole TLSA RRset of a name (the normal publish);
 * {@link #add} keeps the existing records (key rollover: publish the new key next to the old one);
 * {@link #remove} deletes one record and {@link #removeAll} the whole RRset (revocation).
 *
 * <p>The zone is the one set with {@link #withZone}; otherwise the server is asked for the SOA of the
 * name (the zone that holds it, as {@code nsupdate} does), and failing that the name's parent is used.
 * Every outcome is a {@link PublishResult}; nothing is thrown for DNS trouble. Instances are immutable
 * and thread-safe.
 */
public final class DnsPublisher {

  /** TTL of published records unless {@link #withTtl} says otherwise: 5 minutes. */
  public static final Duration DEFAULT_TTL = Duration.ofMinutes(5);

  private final DnsServer server;
  private final TsigKey key;
  private final DnsName zone;
  private final Duration timeout;
  private final Duration ttl;

  private DnsPublisher(DnsServer server, TsigKey key, DnsName zone, Duration timeout, Duration ttl) {
    this.server = Objects.requireNonNull(server, "server");
    this.key = Objects.requireNonNull(key, "key");
    this.zone = zone;
    this.timeout = timeout;
    this.ttl = ttl;
  }

  /** A publisher sending to {@code server}, signing with {@code key}; 5 s timeout, TTL 300 s. */
  public static DnsPublisher create(DnsServer server, TsigKey key) {
    return new DnsPublisher(server, key, null, DaneLookup.Settings.DEFAULT_TIMEOUT, DEFAULT_TTL);
  }

  /** This publisher, updating {@code zoneName} instead of discovering the zone. */
  public DnsPublisher withZone(DnsName zoneName) {
    return new DnsPublisher(server, key, Objects.requireNonNull(zoneName), timeout, ttl);
  }

  /** This publisher with another timeout per message. */
  public DnsPublisher withTimeout(Duration newTimeout) {
    if (newTimeout.isNegative() || newTimeout.isZero()) {
      throw new IllegalArgumentException("DNS timeout must be positive, got " + newTimeout);
    }
    return new DnsPublisher(server, key, zone, newTimeout, ttl);
  }

  /** This publisher writing records with another TTL. */
  public DnsPublisher withTtl(Duration newTtl) {
    if (newTtl.isNegative() || newTtl.toSeconds() > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("TTL out of range: " + newTtl);
    }
    return new DnsPublisher(server, key, zone, timeout, newTtl);
  }

  /** The server updates are sent to. */
  public DnsServer server() {
    return server;
  }

  /** Makes {@code record} the only TLSA record of {@code name}. */
  public PublishResult replace(DnsName name, TlsaRecord record) {
    return send(name, "replaced the TLSA RRset with " + record, (update, owner) -> {
      update.delete(owner, Type.TLSA);
      update.add(tlsa(owner, record));
    });
  }

  /** Adds {@code record} to {@code name}'s TLSA records, keeping the others (a no-op if present). */
  public PublishResult add(DnsName name, TlsaRecord record) {
    return send(name, "added TLSA " + record, (update, owner) -> update.add(tlsa(owner, record)));
  }

  /** Removes {@code record} from {@code name}'s TLSA records (a no-op if absent). */
  public PublishResult remove(DnsName name, TlsaRecord record) {
    return send(name, "removed TLSA " + record, (update, owner) -> update.delete(tlsa(owner, record)));
  }

  /** Removes all TLSA records of {@code name}. */
  public PublishResult removeAll(DnsName name) {
    return send(name, "removed the TLSA RRset", (update, owner) -> update.delete(owner, Type.TLSA));
  }

  private interface Change {
    void apply(Update update, Name owner);
  }

  private PublishResult send(DnsName name, String change, Change what) {
    DnsName updateZone = zone != null ? zone : discoverZone(name);
    if (!name.isWithin(updateZone)) {
      return new PublishResult.Failed(server, updateZone, name, PublishResult.Reason.NOTZONE,
          name + " is not within zone " + updateZone + ": configure the zone that holds the name");
    }
    Update update = new Update(dnsName(updateZone));
    what.apply(update, dnsName(name));
    SimpleResolver resolver = resolver();
    resolver.setTSIGKey(key.signer());
    // TCP: an update carrying a certificate exceeds 512 bytes anyway, and over UDP a lost reply
    // would leave it unknown whether the change was applied
    resolver.setTCP(true);
    Message reply;
    try {
      reply = resolver.send(update);
    } catch (IOException | RuntimeException e) {
      boolean timedOut = isTimeout(e);
      return new PublishResult.Failed(server, updateZone, name,
          timedOut ? PublishResult.Reason.TIMEOUT : PublishResult.Reason.NETWORK,
          timedOut ? "no answer from " + server + " within " + timeout.toMillis() + " ms: the change"
              + " may or may not have been applied; check the server and look the name up"
              : "sending the update to " + server + " failed: " + e.getMessage());
    }
    return interpret(reply, updateZone, name, change);
  }

  private PublishResult interpret(Message reply, DnsName updateZone, DnsName name, String change) {
    int rcode = reply.getHeader().getRcode();
    TSIGRecord tsig = reply.getTSIG();
    int tsigError = tsig == null ? Rcode.NOERROR : tsig.getError();
    if (tsigError != Rcode.NOERROR) {
      return tsigFailure(updateZone, name, tsigError);
    }
    PublishResult.Reason reason;
    String message;
    switch (rcode) {
      case Rcode.NOERROR:
        if (!reply.isVerified()) {
          return new PublishResult.Failed(server, updateZone, name,
              PublishResult.Reason.REPLY_NOT_VERIFIED, "the server's reply "
              + (reply.isSigned() ? "has a TSIG signature that does not verify" : "is not TSIG-signed")
              + " with key " + key + ": it may be forged, so whether the change was applied is unknown;"
              + " look the name up to check");
        }
        return new PublishResult.Published(server, updateZone, name, change);
      case Rcode.REFUSED:
        reason = PublishResult.Reason.REFUSED;
        message = "the server refused the update: its ACL / update policy does not let key " + key
            + " update zone " + updateZone + " (or it does not accept updates at all)";
        break;
      case Rcode.NOTAUTH:
        reason = PublishResult.Reason.NOTAUTH;
        message = "the server is not authoritative for zone " + updateZone + " or did not authorize key "
            + key + ": check the zone name and that this server is the zone's primary";
        break;
      case Rcode.NOTZONE:
        reason = PublishResult.Reason.NOTZONE;
        message = name + " is not within zone " + updateZone + " as the server sees it: set the zone";
        break;
      case Rcode.SERVFAIL:
        reason = PublishResult.Reason.SERVFAIL;
        message = "the server failed to apply the update (SERVFAIL): see the server's log";
        break;
      default:
        reason = PublishResult.Reason.OTHER;
        message = "the server answered " + Rcode.string(rcode);
    }
    return new PublishResult.Failed(server, updateZone, name, reason, message);
  }

  private PublishResult tsigFailure(DnsName updateZone, DnsName name, int tsigError) {
    return switch (tsigError) {
      case Rcode.BADSIG -> new PublishResult.Failed(server, updateZone, name, PublishResult.Reason.BADSIG,
          "the server rejected the TSIG signature of key " + key
              + " (BADSIG): the secret differs from the server's");
      case Rcode.BADKEY -> new PublishResult.Failed(server, updateZone, name, PublishResult.Reason.BADKEY,
          "the server does not know TSIG key " + key
              + " (BADKEY): check the key's name and algorithm against the server's configuration");
      case Rcode.BADTIME -> new PublishResult.Failed(server, updateZone, name, PublishResult.Reason.BADTIME,
          "the server rejected the TSIG time (BADTIME): this machine's clock and the server's differ"
              + " by more than 5 minutes");
      default -> new PublishResult.Failed(server, updateZone, name, PublishResult.Reason.OTHER,
          "the server reported TSIG error " + Rcode.TSIGstring(tsigError) + " for key " + key);
    };
  }

  /** The zone holding {@code name} per the server's SOA answer, else the parent of {@code name}. */
  private DnsName discoverZone(DnsName name) {
    DnsName fallback = name.parent() != null ? name.parent() : name;
    try {
      Message reply = resolver().send(
          Message.newQuery(Record.newRecord(dnsName(name), Type.SOA, DClass.IN)));
      for (int section : new int[] {Section.ANSWER, Section.AUTHORITY}) {
        for (Record r : reply.getSection(section)) {
          if (r instanceof SOARecord soa) {
            String owner = soa.getName().toString(true);
            if (!owner.isEmpty() && DnsName.problemWith(owner) == null) {
              DnsName found = DnsName.parse(owner);
              if (name.isWithin(found)) {
                return found;
              }
            }
          }
        }
      }
    } catch (IOException | RuntimeException e) {
      // no answer: fall back to the parent; the update itself reports what is wrong
    }
    return fallback;
  }

  private SimpleResolver resolver() {
    SimpleResolver resolver = new SimpleResolver(DnsjavaLookup.socketAddress(server));
    resolver.setTimeout(timeout);
    return resolver;
  }

  private TLSARecord tlsa(Name owner, TlsaRecord record) {
    return new TLSARecord(owner, DClass.IN, ttl.toSeconds(), record.usage(), record.selector(),
        record.matchingType(), record.data());
  }

  private static Name dnsName(DnsName name) {
    try {
      return Name.fromString(name.absolute());
    } catch (TextParseException e) {
      throw new IllegalArgumentException("DnsName " + name + " is not a DNS name", e);
    }
  }

  private static boolean isTimeout(Throwable error) {
    for (Throwable t = error; t != null; t = t.getCause()) {
      String message = t.getMessage() == null ? "" : t.getMessage().toLowerCase(Locale.ROOT);
      if (t instanceof SocketTimeoutException || t instanceof TimeoutException
          || message.contains("timed out") || message.contains("timeout")) {
        return true;
      }
    }
    return false;
  }

  @Override
  public String toString() {
    return "DnsPublisher[" + server + ", key " + key + (zone == null ? "" : ", zone " + zone) + "]";
  }
}
