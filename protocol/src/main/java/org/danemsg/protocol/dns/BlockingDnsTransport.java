package org.danemsg.protocol.dns;

import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.BindException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.xbill.DNS.Message;
import org.xbill.DNS.io.IoClientFactory;
import org.xbill.DNS.io.TcpIoClient;
import org.xbill.DNS.io.UdpIoClient;

/**
 * dnsjava's transport, done on the calling thread: each query is sent and its answer read by the
 * thread that asked, which waits (a lookup is blocking work, run on a thread made for it). dnsjava's
 * own transport hands every query to its selector thread and every answer to the common fork-join
 * pool, and the validation runs there: three threads woken for one lookup. Measured in the node
 * (a new sender's name, the zone's keys known): a lookup took 3-10 ms for Knot's 0.3 ms answer; and
 * on a two-core machine the common pool has one thread (two in the node), shared by every lookup in
 * flight and everything else that uses it. Each hand-over wakes a thread, often on an idle core.
 *
 * <p>What dnsjava's transport guarantees is kept: a random source port for each UDP query (picked
 * with {@link SecureRandom}, as dnsjava does), answers taken only from the server's address and port
 * (a connected socket), at most the announced UDP size read, TCP answers length-prefixed and at most
 * 65,535 bytes. One thing is stricter: a datagram whose id is not the query's (a spoofing attempt) is
 * skipped and the wait goes on for the real answer, where dnsjava failed the whole query at the first
 * one. The reply is then checked by {@code SimpleResolver} as before (id, question, TSIG, truncation).
 *
 * <p>Every wait is bounded by the query's timeout and by the deadline of the lookup it belongs to
 * ({@link #withDeadline}), so a validation that needs several queries cannot take several timeouts.
 */
final class BlockingDnsTransport implements IoClientFactory, UdpIoClient, TcpIoClient {

  private static final SecureRandom RANDOM = new SecureRandom();
  private static final int EPHEMERAL_START = 1024;
  private static final int EPHEMERAL_RANGE = 65535 - EPHEMERAL_START;
  private static final int PORT_ATTEMPTS = 64;

  /** The end of the running lookup on this thread ({@link System#nanoTime()}), or none. */
  private static final ThreadLocal<long[]> DEADLINE = new ThreadLocal<>();

  @Override
  public TcpIoClient createOrGetTcpClient() {
    return this;
  }

  @Override
  public UdpIoClient createOrGetUdpClient() {
    return this;
  }

  /** Runs {@code lookup} on this thread with every query of it ending by {@code deadlineNanos}. */
  static <T> T withDeadline(long deadlineNanos, java.util.function.Supplier<T> lookup) {
    long[] previous = DEADLINE.get();
    DEADLINE.set(new long[] {deadlineNanos});
    try {
      return lookup.get();
    } finally {
      if (previous == null) {
        DEADLINE.remove();
      } else {
        DEADLINE.set(previous);
      }
    }
  }

  @Override
  public CompletableFuture<byte[]> sendAndReceiveUdp(InetSocketAddress local, InetSocketAddress remote,
      Message query, byte[] data, int max, Duration timeout) {
    long end = end(timeout);
    try (DatagramSocket socket = bindUdp(local)) {
      socket.connect(remote); // the kernel drops datagrams from any other address or port
      socket.send(new DatagramPacket(data, data.length));
      byte[] buffer = new byte[max];
      DatagramPacket packet = new DatagramPacket(buffer, buffer.length);
      int id = query.getHeader().getID();
      while (true) {
        socket.setSoTimeout(remainingMillis(end, remote));
        packet.setLength(buffer.length);
        socket.receive(packet);
        int length = packet.getLength();
        if (length >= 2 && ((buffer[0] & 0xff) << 8 | (buffer[1] & 0xff)) == id) {
          return CompletableFuture.completedFuture(java.util.Arrays.copyOf(buffer, length));
        }
        // a datagram that is not the answer to this query: skipped, the wait goes on
      }
    } catch (IOException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  @Override
  public CompletableFuture<byte[]> sendAndReceiveTcp(InetSocketAddress local, InetSocketAddress remote,
      Message query, byte[] data, Duration timeout) {
    long end = end(timeout);
    try (Socket socket = new Socket()) {
      if (local != null) {
        socket.bind(local);
      }
      socket.connect(remote, remainingMillis(end, remote));
      socket.setTcpNoDelay(true);
      OutputStream out = socket.getOutputStream();
      byte[] framed = new byte[data.length + 2];
      framed[0] = (byte) (data.length >>> 8);
      framed[1] = (byte) data.length;
      System.arraycopy(data, 0, framed, 2, data.length);
      out.write(framed);
      out.flush();
      DataInputStream in = new DataInputStream(socket.getInputStream());
      socket.setSoTimeout(remainingMillis(end, remote));
      int length = in.readUnsignedShort(); // at most 65,535: the framing cannot ask for more
      byte[] answer = new byte[length];
      int read = 0;
      while (read < length) {
        socket.setSoTimeout(remainingMillis(end, remote));
        int n = in.read(answer, read, length - read);
        if (n < 0) {
          throw new EOFException("the TCP connection to " + remote + " closed after " + read + " of the "
              + length + " bytes of the answer");
        }
        read += n;
      }
      return CompletableFuture.completedFuture(answer);
    } catch (IOException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  /** A UDP socket on {@code local}, or on a random port as dnsjava's transport picks it. */
  private static DatagramSocket bindUdp(InetSocketAddress local) throws IOException {
    DatagramSocket socket = new DatagramSocket(null);
    try {
      if (local != null && local.getPort() != 0) {
        socket.bind(local);
        return socket;
      }
      for (int attempt = 0; attempt < PORT_ATTEMPTS; attempt++) {
        int port = EPHEMERAL_START + RANDOM.nextInt(EPHEMERAL_RANGE);
        try {
          socket.bind(local == null ? new InetSocketAddress(port) : new InetSocketAddress(local.getAddress(), port));
          return socket;
        } catch (BindException taken) {
          // taken: another random port
        }
      }
      socket.bind(local); // the system's choice, after many taken ports in a row
      return socket;
    } catch (IOException | RuntimeException e) {
      socket.close();
      throw e;
    }
  }

  /** When a query with {@code timeout} must end: the sooner of that and the lookup's deadline. */
  private static long end(Duration timeout) {
    long end = System.nanoTime() + timeout.toNanos();
    long[] deadline = DEADLINE.get();
    return deadline == null ? end : Math.min(end, deadline[0]);
  }

  private static int remainingMillis(long end, InetSocketAddress remote) throws SocketTimeoutException {
    long remaining = end - System.nanoTime();
    if (remaining <= 0) {
      throw new SocketTimeoutException("timed out waiting for the answer of " + remote);
    }
    return (int) Math.max(1, Math.min(Integer.MAX_VALUE, Duration.ofNanos(remaining).toMillis()));
  }
}
