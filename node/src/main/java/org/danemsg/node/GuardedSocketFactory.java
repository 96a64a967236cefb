package org.danemsg.node;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import javax.net.SocketFactory;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;
import org.danemsg.client.SocketFactories;

/**
 * The socket factories given to the MQTT client (Paho) so that everything it reads from the broker
 * passes a {@link PublishSizeGuard} first. Paho insists on the factory's kind: a plain
 * {@link SocketFactory} for {@code tcp://}, an {@link SSLSocketFactory} whose sockets are
 * {@link SSLSocket}s for {@code ssl://} (it casts them to set up the handshake). For TLS the guard sits
 * above the TLS layer, where the MQTT bytes are plain, through a {@link GuardedSslSocket}.
 */
final class GuardedSocketFactory {

  private GuardedSocketFactory() {}

  /** For {@code tcp://}: plain sockets whose input is guarded. */
  static SocketFactory plain(int maxPayload, OversizedPublishes oversized) {
    return new Plain(maxPayload, oversized);
  }

  /** For {@code ssl://}: {@code tls}'s sockets, whose decrypted input is guarded. */
  static SSLSocketFactory tls(SSLSocketFactory tls, int maxPayload, OversizedPublishes oversized) {
    return SocketFactories.tls(tls, socket -> new GuardedSslSocket((SSLSocket) socket,
        in -> new PublishSizeGuard(in, maxPayload, oversized)));
  }

  /** A plain socket whose input stream is guarded (one guard per socket: it holds the parsing state). */
  private static final class PlainSocket extends Socket {
    private final int maxPayload;
    private final OversizedPublishes oversized;
    private InputStream guarded;

    PlainSocket(int maxPayload, OversizedPublishes oversized) {
      this.maxPayload = maxPayload;
      this.oversized = oversized;
    }

    @Override
    public synchronized InputStream getInputStream() throws IOException {
      if (guarded == null) {
        guarded = new PublishSizeGuard(super.getInputStream(), maxPayload, oversized);
      }
      return guarded;
    }
  }

  private static final class Plain extends SocketFactory {
    private final int maxPayload;
    private final OversizedPublishes oversized;

    Plain(int maxPayload, OversizedPublishes oversized) {
      this.maxPayload = maxPayload;
      this.oversized = oversized;
    }

    @Override
    public Socket createSocket() {
      return new PlainSocket(maxPayload, oversized);
    }

    @Override
    public Socket createSocket(String host, int port) throws IOException {
      Socket s = createSocket();
      s.connect(new InetSocketAddress(host, port));
      return s;
    }

    @Override
    public Socket createSocket(String host, int port, InetAddress localHost, int localPort) throws IOException {
      Socket s = createSocket();
      s.bind(new InetSocketAddress(localHost, localPort));
      s.connect(new InetSocketAddress(host, port));
      return s;
    }

    @Override
    public Socket createSocket(InetAddress host, int port) throws IOException {
      Socket s = createSocket();
      s.connect(new InetSocketAddress(host, port));
      return s;
    }

    @Override
    public Socket createSocket(InetAddress address, int port, InetAddress localAddress, int localPort)
        throws IOException {
      Socket s = createSocket();
      s.bind(new InetSocketAddress(localAddress, localPort));
      s.connect(new InetSocketAddress(address, port));
      return s;
    }
  }
}
