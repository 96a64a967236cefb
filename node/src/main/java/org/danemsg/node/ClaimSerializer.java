package org.danemsg.node;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.NotSerializableException;
import org.apache.pekko.actor.ExtendedActorSystem;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorRefResolver;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.serialization.SerializerWithStringManifest;

/**
 * The wire form of the replay claims between members ({@link ClaimBucket.Wire}: claims and their answers,
 * and the {@link SeenLookup}'s questions and answers): a few UTF strings and numbers each, no Java
 * serialization (Pekko refuses it by default, and it would accept any class).
 */
public final class ClaimSerializer extends SerializerWithStringManifest {

  private static final String CLAIM = "C";
  private static final String GRANTED = "G";
  private static final String HELD_BY = "H";
  private static final String UNAVAILABLE = "U";
  private static final String UNDECIDED = "N";
  private static final String LOOKUP = "L";
  private static final String FOUND = "F";

  private final ActorRefResolver resolver;

  /** Made by Pekko's serialization extension. */
  public ClaimSerializer(ExtendedActorSystem system) {
    this.resolver = ActorRefResolver.get(Adapter.toTyped(system));
  }

  @Override
  public int identifier() {
    return 871_501;
  }

  @Override
  public String manifest(Object o) {
    if (o instanceof ClaimBucket.Claim) {
      return CLAIM;
    } else if (o instanceof ClaimBucket.Granted) {
      return GRANTED;
    } else if (o instanceof ClaimBucket.HeldBy) {
      return HELD_BY;
    } else if (o instanceof ClaimBucket.Unavailable) {
      return UNAVAILABLE;
    } else if (o instanceof ClaimBucket.Undecided) {
      return UNDECIDED;
    } else if (o instanceof SeenLookup.Lookup) {
      return LOOKUP;
    } else if (o instanceof SeenLookup.Found) {
      return FOUND;
    }
    throw new IllegalArgumentException("not a claim message: " + o.getClass().getName());
  }

  @Override
  public byte[] toBinary(Object o) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(128);
    try (DataOutputStream out = new DataOutputStream(bytes)) {
      if (o instanceof ClaimBucket.Claim claim) {
        out.writeUTF(claim.key());
        out.writeUTF(claim.member());
        out.writeLong(claim.sent());
        out.writeLong(claim.until());
        out.writeUTF(resolver.toSerializationFormat(claim.replyTo()));
      } else if (o instanceof ClaimBucket.HeldBy held) {
        out.writeUTF(held.member());
      } else if (o instanceof ClaimBucket.Unavailable unavailable) {
        out.writeUTF(unavailable.reason());
      } else if (o instanceof ClaimBucket.Undecided undecided) {
        out.writeUTF(undecided.reason());
      } else if (o instanceof SeenLookup.Lookup lookup) {
        out.writeUTF(lookup.key());
        out.writeUTF(resolver.toSerializationFormat(lookup.replyTo()));
      } else if (o instanceof SeenLookup.Found found) {
        out.writeUTF(found.member());
        out.writeUTF(found.address());
        out.writeUTF(found.key());
        out.writeBoolean(found.delivered());
      } else if (!(o instanceof ClaimBucket.Granted)) {
        throw new IllegalArgumentException("not a claim message: " + o.getClass().getName());
      }
    } catch (IOException e) {
      throw new IllegalStateException("writing to memory failed", e);
    }
    return bytes.toByteArray();
  }

  @Override
  public Object fromBinary(byte[] bytes, String manifest) throws NotSerializableException {
    try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes))) {
      switch (manifest) {
        case CLAIM: {
          String key = in.readUTF();
          String member = in.readUTF();
          long sent = in.readLong();
          long until = in.readLong();
          ActorRef<ClaimBucket.Answer> replyTo = resolver.resolveActorRef(in.readUTF());
          return new ClaimBucket.Claim(key, member, sent, until, replyTo);
        }
        case GRANTED:
          return new ClaimBucket.Granted();
        case HELD_BY:
          return new ClaimBucket.HeldBy(in.readUTF());
        case UNAVAILABLE:
          return new ClaimBucket.Unavailable(in.readUTF());
        case UNDECIDED:
          return new ClaimBucket.Undecided(in.readUTF());
        case LOOKUP: {
          String key = in.readUTF();
          ActorRef<SeenLookup.Found> replyTo = resolver.resolveActorRef(in.readUTF());
          return new SeenLookup.Lookup(key, replyTo);
        }
        case FOUND:
          return new SeenLookup.Found(in.readUTF(), in.readUTF(), in.readUTF(), in.readBoolean());
        default:
          throw new NotSerializableException("unknown claim message manifest '" + manifest + "'");
      }
    } catch (IOException e) {
      NotSerializableException bad = new NotSerializableException("a claim message cannot be read: " + e);
      bad.initCause(e);
      throw bad;
    }
  }
}
