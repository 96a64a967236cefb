package org.danemsg.client;

import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketException;
import javax.net.SocketFactory;
import javax.net.ssl.SSLSocketFactory;

/**
 * Socket factories whose sockets send each write at once ({@code TCP_NODELAY}). Paho leaves Nagle's
 * algorithm on, so a small MQTT packet (a publish of a few hundred bytes, a 4-byte PUBACK) written while
 * the previous one is not yet acknowledged by the peer's TCP waits for that acknowledgement, which the
 * peer may delay until it has something to send itself. A wrapped TLS factory stays an
 * {@link SSLSocketFactory}, a plain one does not: Paho checks the kind against the broker URI's scheme.
 */
final class NoDelaySockets {

  private NoDelaySockets() {}

  /** {@code factory}'s sockets with {@code TCP_NODELAY}; {@code null} stands for the plain default sockets. */
  static SocketFactory of(SocketFactory factory) {
    if (factory instanceof SSLSocketFactory tls) {
      return new Tls(tls);
    }
    return new Plain(factory == null ? SocketFactory.getDefault() : factory);
  }

  private static Socket noDelay(Socket socket) {
    try {
      socket.setTcpNoDelay(true);
    } catch (SocketException e) {
      // a socket that does not take the option still works, only later
    }
    return socket;
  }

  private static final class Plain extends SocketFactory {
    private final SocketFactory sockets;

    Plain(SocketFactory sockets) {
      this.sockets = sockets;
    }

    @Override
    public Socket createSocket() throws IOException {
      return noDelay(sockets.createSocket());
    }

    @Override
    public Socket createSocket(String host, int port) throws IOException {
      return noDelay(sockets.createSocket(host, port));
    }

    @Override
    public Socket createSocket(String host, int port, InetAddress localHost, int localPort) throws IOException {
      return noDelay(sockets.createSocket(host, port, localHost, localPort));
    }

    @Override
    public Socket createSocket(InetAddress host, int port) throws IOException {
      return noDelay(sockets.createSocket(host, port));
    }

    @Override
    public Socket createSocket(InetAddress address, int port, InetAddress localAddress, int localPort)
        throws IOException {
      return noDelay(sockets.createSocket(address, port, localAddress, localPort));
    }
  }

  private static final class Tls extends SSLSocketFactory {
    private final SSLSocketFactory tls;

    Tls(SSLSocketFactory tls) {
      this.tls = tls;
    }

    @Override
    public String[] getDefaultCipherSuites() {
      return tls.getDefaultCipherSuites();
    }

    @Override
    public String[] getSupportedCipherSuites() {
      return tls.getSupportedCipherSuites();
    }

    @Override
    public Socket createSocket() throws IOException {
      return noDelay(tls.createSocket());
    }

    @Override
    public Socket createSocket(Socket s, String host, int port, boolean autoClose) throws IOException {
      return noDelay(tls.createSocket(s, host, port, autoClose));
    }

    @Override
    public Socket createSocket(String host, int port) throws IOException {
      return noDelay(tls.createSocket(host, port));
    }

    @Override
    public Socket createSocket(String host, int port, InetAddress localHost, int localPort) throws IOException {
      return noDelay(tls.createSocket(host, port, localHost, localPort));
    }

    @Override
    public Socket createSocket(InetAddress host, int port) throws IOException {
      return noDelay(tls.createSocket(host, port));
    }

    @Override
    public Socket createSocket(InetAddress address, int port, InetAddress localAddress, int localPort)
        throws IOException {
      return noDelay(tls.createSocket(address, port, localAddress, localPort));
    }
  }
}
