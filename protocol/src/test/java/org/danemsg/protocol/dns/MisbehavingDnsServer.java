package org.danemsg.protocol.dns;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.function.UnaryOperator;
import org.xbill.DNS.Message;
import org.xbill.DNS.Type;

/**
 * A broken DNS server for tests, on 127.0.0.1: every UDP query is answered with what {@code reply}
 * makes of the query's bytes (nothing when it gives {@code null}; several datagrams in a row with
 * {@link #startSending}). The same port is held on TCP by a
 * bound socket that never listens, so a TCP connection to it is refused at once, and no other process
 * can start listening there during the test.
 */
final class MisbehavingDnsServer implements AutoCloseable {

  private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();

  private final DatagramSocket udp;
  private final Socket tcpHeldClosed;
  private final AtomicInteger queries = new AtomicInteger();
  private final List<String> questions = new CopyOnWriteArrayList<>();

  private MisbehavingDnsServer(DatagramSocket udp, Socket tcpHeldClosed, Function<byte[], List<byte[]>> reply) {
    this.udp = udp;
    this.tcpHeldClosed = tcpHeldClosed;
    Thread responder = new Thread(() -> serve(reply), "misbehaving DNS server :" + udp.getLocalPort());
    responder.setDaemon(true);
    responder.start();
  }

  /** Starts answering queries with {@code reply}. */
  static MisbehavingDnsServer start(UnaryOperator<byte[]> reply) {
    return startSending(query -> {
      byte[] answer = reply.apply(query);
      return answer == null ? List.of() : List.of(answer);
    });
  }

  /** Starts answering each query with the datagrams {@code replies} makes of it, in order. */
  static MisbehavingDnsServer startSending(Function<byte[], List<byte[]>> replies) {
    IOException last = null;
    for (int attempt = 0; attempt < 10; attempt++) { // the TCP side of a free UDP port may be taken
      DatagramSocket udp = null;
      try {
        udp = new DatagramSocket(new InetSocketAddress(LOOPBACK, 0));
        Socket tcp = new Socket();
        tcp.bind(new InetSocketAddress(LOOPBACK, udp.getLocalPort()));
        return new MisbehavingDnsServer(udp, tcp, replies);
      } catch (IOException e) {
        last = e;
        if (udp != null) {
          udp.close();
        }
      }
    }
    throw new UncheckedIOException("no 127.0.0.1 port free on both UDP and TCP", last);
  }

  /** Where it answers. */
  DnsServer server() {
    return new DnsServer("127.0.0.1", udp.getLocalPort());
  }

  /** How many UDP queries it received so far. */
  int queries() {
    return queries.get();
  }

  /**
   * The questions received so far, in order, as {@code <name> <type>} (e.g.
   * {@code alice._device.example.test. TLSA}); counted before the reply is made, so a query whose
   * reply is held back is listed.
   */
  List<String> questions() {
    return List.copyOf(questions);
  }

  /** How many of the questions received so far asked for {@code type} (e.g. {@link Type#TLSA}). */
  long queries(int type) {
    String suffix = " " + Type.string(type);
    return questions.stream().filter(q -> q.endsWith(suffix)).count();
  }

  @Override
  public void close() throws IOException {
    udp.close();
    tcpHeldClosed.close();
  }

  private static String question(byte[] query) {
    try {
      Message message = new Message(query);
      return message.getQuestion() == null ? "(no question)"
          : message.getQuestion().getName() + " " + Type.string(message.getQuestion().getType());
    } catch (IOException e) {
      return "(not a DNS message)";
    }
  }

  private void serve(Function<byte[], List<byte[]>> reply) {
    byte[] buffer = new byte[65535];
    while (!udp.isClosed()) {
      DatagramPacket query = new DatagramPacket(buffer, buffer.length);
      try {
        udp.receive(query);
        queries.incrementAndGet();
        byte[] bytes = Arrays.copyOf(query.getData(), query.getLength());
        questions.add(question(bytes));
        for (byte[] answer : reply.apply(bytes)) {
          udp.send(new DatagramPacket(answer, answer.length, query.getSocketAddress()));
        }
      } catch (IOException closed) {
        return;
      }
    }
  }
}
