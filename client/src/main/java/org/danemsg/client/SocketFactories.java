package org.danemsg.client;

import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketException;
import java.util.function.UnaryOperator;
import javax.net.SocketFactory;
import javax.net.ssl.SSLSocketFactory;

/**
 * Socket factories for the MQTT client (Paho) that pass each socket they make through a function: the
 * node's size guard, {@code TCP_NODELAY}. Paho insists on the factory's kind: a plain {@link SocketFactory}
 * for {@code tcp://}, an {@link SSLSocketFactory} for {@code ssl://}; each kind stays what it was.
 */
public final class SocketFactories {

  private SocketFactories() {}

  /** {@code tls}'s sockets, each passed through {@code each}. */
  public static SSLSocketFactory tls(SSLSocketFactory tls, UnaryOperator<Socket> each) {
    return new Tls(tls, each);
  }

  /**
   * {@code factory}'s sockets with {@code TCP_NODELAY}; {@code null} stands for the plain default sockets.
   * Paho leaves Nagle's algorithm on, so a small MQTT packet (a publish of a few hundred bytes, a 4-byte
   * PUBACK) written while the previous one is not yet acknowledged by the peer's TCP waits for that
   * acknowledgement, which the peer may hold until it has something to send itself.
   */
  static SocketFactory noDelay(SocketFactory factory) {
    if (factory instanceof SSLSocketFactory tls) {
      return new Tls(tls, SocketFactories::noDelay);
    }
    return new Plain(factory == null ? SocketFactory.getDefault() : factory, SocketFactories::noDelay);
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
    private final UnaryOperator<Socket> each;

    Plain(SocketFactory sockets, UnaryOperator<Socket> each) {
      this.sockets = sockets;
      this.each = each;
    }

    @Override
    public Socket createSocket() throws IOException {
      return each.apply(sockets.createSocket());
    }

    @Override
    public Socket createSocket(String host, int port) throws IOException {
      return each.apply(sockets.createSocket(host, port));
    }

    @Override
    public Socket createSocket(String host, int port, InetAddress localHost, int localPort) throws IOException {
      return each.apply(sockets.createSocket(host, port, localHost, localPort));
    }

    @Override
    public Socket createSocket(InetAddress host, int port) throws IOException {
      return each.apply(sockets.createSocket(host, port));
    }

    @Override
    public Socket createSocket(InetAddress address, int port, InetAddress localAddress, int localPort)
        throws IOException {
      return each.apply(sockets.createSocket(address, port, localAddress, localPort));
    }
  }

  private static final class Tls extends SSLSocketFactory {
    private final SSLSocketFactory tls;
    private final UnaryOperator<Socket> each;

    Tls(SSLSocketFactory tls, UnaryOperator<Socket> each) {
      this.tls = tls;
      this.each = each;
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
      return each.apply(tls.createSocket());
    }

    @Override
    public Socket createSocket(Socket s, String host, int port, boolean autoClose) throws IOException {
      return each.apply(tls.createSocket(s, host, port, autoClose));
    }

    @Override
    public Socket createSocket(String host, int port) throws IOException {
      return each.apply(tls.createSocket(host, port));
    }

    @Override
    public Socket createSocket(String host, int port, InetAddress localHost, int localPort) throws IOException {
      return each.apply(tls.createSocket(host, port, localHost, localPort));
    }

    @Override
    public Socket createSocket(InetAddress host, int port) throws IOException {
      return each.apply(tls.createSocket(host, port));
    }

    @Override
    public Socket createSocket(InetAddress address, int port, InetAddress localAddress, int localPort)
        throws IOException {
      return each.apply(tls.createSocket(address, port, localAddress, localPort));
    }
  }
}
