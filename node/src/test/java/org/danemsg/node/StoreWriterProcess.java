package org.danemsg.node;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import org.danemsg.protocol.DnsName;
import org.danemsg.protocol.OpenedMessage;
import org.danemsg.protocol.Profile;

/**
 * A process that writes one delivery into a {@link MessageStore} the way the Printer does and is then
 * killed ({@link Runtime#halt}: no shutdown, no close) at a chosen point: {@code before-commit} (the
 * rows written in the open transaction) or {@code after-commit} (committed, not yet printed). The
 * crash tests of {@link PrinterTest} run it as a child JVM.
 *
 * <p>Arguments: DATA_PATH, the point, the message id, its text.
 */
final class StoreWriterProcess {

  private StoreWriterProcess() {}

  public static void main(String[] args) throws Exception {
    Path data = Path.of(args[0]);
    String point = args[1];
    Instant now = Instant.now();
    OpenedMessage m = new OpenedMessage(DnsName.parse("alice._device.example.test"),
        DnsName.parse("bob._device.example.test"), args[3], now, args[2], now.plusSeconds(300), Profile.NATIVE);
    MessageStore store = MessageStore.open(data, NodeSettings.Records.defaults(), 4096, Clock.systemUTC());
    store.recordDelivery(m, true, now, 0);
    if (point.equals("after-commit")) {
      store.commit();
    }
    System.out.println("killed " + point);
    System.out.flush();
    Runtime.getRuntime().halt(137);
  }
}
