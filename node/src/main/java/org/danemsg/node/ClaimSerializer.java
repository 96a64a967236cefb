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
 * The wire form of the replay claims between members ({@link ClaimBucket.Wire}): a few UTF strings and a
 * number each, no Java serialization (Pekko refuses it by default, and it would accept any class).
 */
public final class ClaimSerializer extends SerializerWithStringManifest {

  private static final String CLAIM = "C";
  private static final String GRANTED = "G";
  private static final String HELD_BY = "H";
  private static final String UNAVAILABLE = "U";
  private static final String SEED = "S";
  private static final String SEEDED = "D";

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
    } else if (o instanceof ClaimBucket.Seed) {
      return SEED;
    } else if (o instanceof ClaimBucket.Seeded) {
      return SEEDED;
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
        out.writeLong(claim.until());
        out.writeUTF(resolver.toSerializationFormat(claim.replyTo()));
      } else if (o instanceof ClaimBucket.HeldBy held) {
        out.writeUTF(held.member());
      } else if (o instanceof ClaimBucket.Unavailable unavailable) {
        out.writeUTF(unavailable.reason());
      } else if (o instanceof ClaimBucket.Seed seed) {
        out.writeUTF(seed.member());
        out.writeInt(seed.untilByKey().size());
        for (java.util.Map.Entry<String, Long> entry : seed.untilByKey().entrySet()) {
          out.writeUTF(entry.getKey());
          out.writeLong(entry.getValue());
        }
        out.writeUTF(resolver.toSerializationFormat(seed.replyTo()));
      } else if (o instanceof ClaimBucket.Seeded seeded) {
        out.writeInt(seeded.added());
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
          long until = in.readLong();
          ActorRef<ClaimBucket.Answer> replyTo = resolver.resolveActorRef(in.readUTF());
          return new ClaimBucket.Claim(key, member, until, replyTo);
        }
        case GRANTED:
          return new ClaimBucket.Granted();
        case HELD_BY:
          return new ClaimBucket.HeldBy(in.readUTF());
        case UNAVAILABLE:
          return new ClaimBucket.Unavailable(in.readUTF());
        case SEED: {
          String member = in.readUTF();
          int size = in.readInt();
          if (size < 0 || size > 100_000) {
            throw new NotSerializableException("a seed of " + size + " claims");
          }
          java.util.Map<String, Long> untilByKey = new java.util.HashMap<>();
          for (int i = 0; i < size; i++) {
            untilByKey.put(in.readUTF(), in.readLong());
          }
          ActorRef<ClaimBucket.Seeded> replyTo = resolver.resolveActorRef(in.readUTF());
          return new ClaimBucket.Seed(member, untilByKey, replyTo);
        }
        case SEEDED:
          return new ClaimBucket.Seeded(in.readInt());
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
