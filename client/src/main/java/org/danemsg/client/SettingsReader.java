package org.danemsg.client;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.danemsg.protocol.DnsName;
import org.danemsg.protocol.LegacyPeers;

/**
 * Reads values of the {@code danemsg} configuration section, turning every problem into a one-line
 * {@link SettingsException} that names the setting and its environment variable. Shared by
 * {@link ClientSettings} and the node's settings, so both word their complaints alike.
 */
public final class SettingsReader {

  private final Config c;
  private final Map<String, String> environment;

  /**
   * A reader of {@code section} (the {@code danemsg} section).
   *
   * @param environment the environment variable of each key that has one, named in the messages
   */
  public SettingsReader(Config section, Map<String, String> environment) {
    this.c = section;
    this.environment = Map.copyOf(environment);
  }

  /** The exception for {@code key}: its name, its environment variable and what is wrong with it. */
  public SettingsException bad(String key, String what) {
    String env = environment.get(key);
    return new SettingsException("setting danemsg." + key + (env == null ? "" : " (" + env + ")") + " "
        + what);
  }

  public String string(String key) {
    try {
      return c.getString(key);
    } catch (ConfigException.Missing e) {
      throw bad(key, "is missing");
    } catch (ConfigException e) {
      throw bad(key, "is not a string: " + oneLine(e.getMessage()));
    }
  }

  public Path path(String key) {
    String text = string(key).strip();
    if (text.isEmpty()) {
      throw bad(key, "is empty: give a folder or file path");
    }
    try {
      return Path.of(text);
    } catch (InvalidPathException e) {
      throw bad(key, "'" + text + "' is not a valid path: " + e.getReason());
    }
  }

  public int integer(String key, int min, int max) {
    int value;
    try {
      value = c.getInt(key);
    } catch (ConfigException.Missing e) {
      throw bad(key, "is missing");
    } catch (ConfigException e) {
      throw bad(key, "must be a whole number, got '" + raw(key) + "'");
    }
    if (value < min || value > max) {
      throw bad(key, "must be between " + min + " and " + max + ", got " + value);
    }
    return value;
  }

  /** A list of DNS names, or one string of names separated by commas or white space (from the environment). */
  public java.util.Set<DnsName> names(String key) {
    List<String> texts;
    try {
      if (c.getValue(key).valueType() == com.typesafe.config.ConfigValueType.LIST) {
        texts = c.getStringList(key);
      } else {
        texts = List.of(c.getString(key).split("[,\\s]+"));
      }
    } catch (ConfigException.Missing e) {
      throw bad(key, "is missing");
    } catch (ConfigException e) {
      throw bad(key, "must be a list of DNS names, got '" + raw(key) + "'");
    }
    java.util.Set<DnsName> names = new java.util.LinkedHashSet<>();
    for (String text : texts) {
      if (text.isBlank()) {
        continue;
      }
      String problem = DnsName.problemWith(text.strip());
      if (problem != null) {
        throw bad(key, "'" + printable(text) + "' is not a DNS name: " + problem);
      }
      names.add(DnsName.parse(text.strip()));
    }
    return names;
  }

  public long bytes(String key) {
    try {
      long value = c.getBytes(key);
      if (value < 0) {
        throw bad(key, "must not be negative, got '" + raw(key) + "'");
      }
      return value;
    } catch (ConfigException.Missing e) {
      throw bad(key, "is missing");
    } catch (ConfigException e) {
      throw bad(key, "must be a size such as 65536, 512k, 64m, got '" + raw(key) + "'");
    }
  }

  /** Names and wildcards such as {@code *._device.example.com}, as a list or one string. */
  public LegacyPeers legacyPeers(String key) {
    try {
      if (c.getValue(key).valueType() == com.typesafe.config.ConfigValueType.LIST) {
        return LegacyPeers.of(c.getStringList(key));
      }
      return LegacyPeers.parse(c.getString(key));
    } catch (ConfigException.Missing e) {
      throw bad(key, "is missing");
    } catch (ConfigException e) {
      throw bad(key, "must be a list of DNS names or wildcards, got '" + raw(key) + "'");
    } catch (IllegalArgumentException e) {
      throw bad(key, oneLine(e.getMessage()));
    }
  }

  public boolean bool(String key) {
    try {
      return c.getBoolean(key);
    } catch (ConfigException.Missing e) {
      throw bad(key, "is missing");
    } catch (ConfigException e) {
      throw bad(key, "must be true or false, got '" + raw(key) + "'");
    }
  }

  public Duration duration(String key, boolean zeroAllowed) {
    Duration value;
    try {
      value = c.getDuration(key);
    } catch (ConfigException.Missing e) {
      throw bad(key, "is missing");
    } catch (ConfigException e) {
      throw bad(key, "must be a duration such as 500ms, 30s, 5m, got '" + raw(key) + "'");
    }
    if (value.isNegative() || (!zeroAllowed && value.isZero())) {
      throw bad(key, "must be " + (zeroAllowed ? "zero or more" : "more than zero") + ", got '" + raw(key) + "'");
    }
    return value;
  }

  private String raw(String key) {
    try {
      return oneLine(String.valueOf(c.getValue(key).unwrapped()));
    } catch (ConfigException e) {
      return "?";
    }
  }

  /** {@code text} with control characters shown as {@code ?}, for messages. */
  public static String printable(String text) {
    return text.codePoints().mapToObj(cp -> cp < 0x20 || cp == 0x7f ? "?" : Character.toString(cp))
        .collect(java.util.stream.Collectors.joining());
  }

  /** {@code text} on one line. */
  public static String oneLine(String text) {
    return text == null ? "" : text.replaceAll("\\s*\\R\\s*", " ").strip();
  }

}
