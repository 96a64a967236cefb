package org.danemsg.node;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A TCP relay on 127.0.0.1 in front of a server, whose connections can be reset at once: what the
 * server sees when the client's process dies (no MQTT DISCONNECT, the kernel resets the socket). It can
 * also be cut ({@link #cut}: its connections reset and new ones refused) and restored: a network
 * partition between its clients and the server.
 */
final class TcpRelay implements AutoCloseable {

  private final ServerSocket server;
  private final int targetPort;
  private final Set<Socket> sockets = ConcurrentHashMap.newKeySet();
  private final AtomicInteger accepted = new AtomicInteger();
  /** Cut: every new connection is reset as soon as it is accepted. */
  private volatile boolean refusing;
  /** Open: the server's bytes pass; held: they wait in the relay. */
  private volatile CountDownLatch replies = new CountDownLatch(0);

  private TcpRelay(int targetPort) throws IOException {
    this.targetPort = targetPort;
    this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    daemon("relay accept " + server.getLocalPort(), this::accept).start();
  }

  /** A relay to {@code 127.0.0.1:targetPort}. */
  static TcpRelay to(int targetPort) throws IOException {
    return new TcpRelay(targetPort);
  }

  int port() {
    return server.getLocalPort();
  }

  /** How many connections the relay has taken so far. */
  int accepted() {
    return accepted.get();
  }

  /** From now on the server's bytes wait in the relay until {@link #releaseReplies()}. */
  void holdReplies() {
    replies = new CountDownLatch(1);
  }

  /** Lets the server's bytes through again, those held first. */
  void releaseReplies() {
    replies.countDown();
  }

  /** Resets every connection relayed so far, on both sides. */
  void cutAll() {
    for (Socket socket : sockets) {
      resetQuietly(socket); // RST, as for a killed process
    }
    sockets.clear();
  }

  /** Partitions the clients from the server: resets every connection and refuses new ones until {@link #restore}. */
  synchronized void cut() {
    refusing = true;
    cutAll();
  }

  /** Relays new connections again after {@link #cut}. */
  void restore() {
    refusing = false;
  }

  @Override
  public void close() throws IOException {
    server.close();
    cutAll();
  }

  private void accept() {
    while (!server.isClosed()) {
      Socket client;
      try {
        client = server.accept();
      } catch (IOException e) {
        return; // closed
      }
      Socket target = new Socket();
      try {
        if (refusing) {
          throw new IOException("cut");
        }
        target.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), targetPort));
      } catch (IOException e) { // cut, or the server is not running: reset, as an unreachable server would
        resetQuietly(client);
        resetQuietly(target);
        continue;
      }
      synchronized (this) { // not in the middle of a cut
        if (refusing) {
          resetQuietly(client);
          resetQuietly(target);
          continue;
        }
        sockets.add(client);
        sockets.add(target);
      }
      daemon("relay up", () -> pump(client, target, false)).start();
      daemon("relay down", () -> pump(target, client, true)).start();
      accepted.incrementAndGet();
    }
  }

  private static void resetQuietly(Socket socket) {
    try {
      socket.setSoLinger(true, 0);
      socket.close();
    } catch (IOException e) {
      // closed already
    }
  }

  private void pump(Socket from, Socket to, boolean reply) {
    byte[] buffer = new byte[16 * 1024];
    try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
      int n;
      while ((n = in.read(buffer)) >= 0) {
        if (reply) {
          replies.await();
        }
        out.write(buffer, 0, n);
        out.flush();
      }
    } catch (IOException e) {
      // cut or closed: the other direction ends too
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static Thread daemon(String name, Runnable run) {
    Thread thread = new Thread(run, name);
    thread.setDaemon(true);
    return thread;
  }
}
