package org.danemsg.tools.deploy;

import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/**
 * A docker-compose file as Compose reads it: YAML with anchors and merge keys resolved, relative paths
 * taken from the file's folder. Only what the deploy tests look at is modelled.
 */
record ComposeFile(Path file, Map<String, Object> root) {

  /** One entry of a service's {@code volumes}: a named volume or a bind-mounted host path. */
  record Mount(String source, String target, boolean readOnly) {
    boolean isBind() {
      return source.startsWith(".") || source.startsWith("/") || source.startsWith("~");
    }
  }

  /** A service's {@code build}: context folder and Dockerfile, both resolved to host paths. */
  record Build(Path context, Path dockerfile) {}

  static ComposeFile read(Path file) {
    return new ComposeFile(file, asMap(loadYaml(file), file.toString()));
  }

  static Object loadYaml(Path file) {
    if (!Files.isRegularFile(file)) {
      fail("missing file " + file);
    }
    try (Reader in = Files.newBufferedReader(file)) {
      return new Yaml(new SafeConstructor(new LoaderOptions())).load(in);
    } catch (IOException e) {
      throw new IllegalStateException("cannot read " + file, e);
    } catch (RuntimeException e) {
      return fail(file + " is not valid YAML: " + e.getMessage());
    }
  }

  Path dir() {
    return file.toAbsolutePath().getParent();
  }

  Map<String, Object> services() {
    return asMap(root.get("services"), file + ": services");
  }

  Map<String, Object> service(String name) {
    Object service = services().get(name);
    if (service == null) {
      fail(file + " has no service " + name + " (services: " + services().keySet() + ")");
    }
    return asMap(service, file + ": service " + name);
  }

  /**
   * The service's image as Compose pulls it when no variable is set: {@code ${VAR:-default}} (or
   * {@code ${VAR-default}}) is its default. Empty when the service names no image.
   */
  Optional<String> image(String service) {
    Object image = service(service).get("image");
    if (image == null) {
      return Optional.empty();
    }
    Matcher m = IMAGE_VARIABLE.matcher(String.valueOf(image));
    return Optional.of(m.matches() ? m.group(2) : String.valueOf(image));
  }

  /** The variable that chooses the service's image, when its image is {@code ${VAR:-default}}. */
  Optional<String> imageVariable(String service) {
    Object image = service(service).get("image");
    Matcher m = IMAGE_VARIABLE.matcher(String.valueOf(image));
    return image != null && m.matches() ? Optional.of(m.group(1)) : Optional.empty();
  }

  private static final Pattern IMAGE_VARIABLE =
      Pattern.compile("\\$\\{([A-Za-z_][A-Za-z0-9_]*):?-([^}]*)}");

  Map<String, Object> declaredVolumes() {
    Object volumes = root.get("volumes");
    return volumes == null ? Map.of() : asMap(volumes, file + ": volumes");
  }

  /** The service's environment, in either of Compose's forms (map, or list of NAME=value). */
  Map<String, String> environment(String service) {
    Object env = service(service).get("environment");
    Map<String, String> result = new LinkedHashMap<>();
    if (env instanceof Map<?, ?> map) {
      map.forEach((k, v) -> result.put(String.valueOf(k), v == null ? null : String.valueOf(v)));
    } else if (env instanceof List<?> list) {
      for (Object item : list) {
        String s = String.valueOf(item);
        int eq = s.indexOf('=');
        result.put(eq < 0 ? s : s.substring(0, eq), eq < 0 ? null : s.substring(eq + 1));
      }
    } else if (env != null) {
      fail(file + ": environment of " + service + " is neither a map nor a list");
    }
    return result;
  }

  List<Mount> mounts(String service) {
    Object volumes = service(service).get("volumes");
    List<Mount> result = new ArrayList<>();
    if (volumes == null) {
      return result;
    }
    for (Object item : assertInstanceOf(List.class, volumes, file + ": volumes of " + service)) {
      if (item instanceof Map<?, ?> m) {
        result.add(new Mount(String.valueOf(m.get("source")), String.valueOf(m.get("target")),
            Boolean.TRUE.equals(m.get("read_only"))));
      } else {
        String[] parts = String.valueOf(item).split(":");
        if (parts.length < 2) {
          fail(file + ": " + service + " mounts an anonymous volume " + item + " (give it a name)");
        }
        result.add(new Mount(parts[0], parts[1], parts.length > 2 && parts[2].contains("ro")));
      }
    }
    return result;
  }

  Optional<Mount> mountAt(String service, String target) {
    return mounts(service).stream().filter(m -> m.target().equals(target)).findFirst();
  }

  /** The mount a container path lies on (the longest matching target), if any. */
  Optional<Mount> mountHolding(String service, String containerPath) {
    return mounts(service).stream()
        .filter(m -> containerPath.equals(m.target()) || containerPath.startsWith(m.target() + "/"))
        .max((a, b) -> Integer.compare(a.target().length(), b.target().length()));
  }

  /** Where a container path of a bind mount lives on the host, if it is bind-mounted. */
  Optional<Path> hostPathOf(String service, String containerPath) {
    return mountHolding(service, containerPath).filter(Mount::isBind).map(m -> {
      String rest = containerPath.substring(m.target().length()).replaceFirst("^/", "");
      Path source = dir().resolve(m.source()).normalize();
      return rest.isEmpty() ? source : source.resolve(rest);
    });
  }

  Optional<Build> build(String service) {
    Object build = service(service).get("build");
    if (build == null) {
      return Optional.empty();
    }
    if (build instanceof String context) {
      Path dir = dir().resolve(context).normalize();
      return Optional.of(new Build(dir, dir.resolve("Dockerfile")));
    }
    Map<String, Object> b = asMap(build, file + ": build of " + service);
    Path dir = dir().resolve(String.valueOf(b.getOrDefault("context", "."))).normalize();
    return Optional.of(new Build(dir, dir.resolve(String.valueOf(b.getOrDefault("dockerfile", "Dockerfile")))));
  }

  /** {@code entrypoint} as a list of words (null when the image's own is used). */
  List<String> entrypoint(String service) {
    Object e = service(service).get("entrypoint");
    if (e == null) {
      return null;
    }
    if (e instanceof List<?> list) {
      return list.stream().map(String::valueOf).toList();
    }
    return List.of(String.valueOf(e).trim().split("\\s+"));
  }

  /** depends_on targets with their condition ("service_started" for the short form). */
  Map<String, String> dependsOn(String service) {
    Object d = service(service).get("depends_on");
    Map<String, String> result = new LinkedHashMap<>();
    if (d instanceof List<?> list) {
      list.forEach(s -> result.put(String.valueOf(s), "service_started"));
    } else if (d instanceof Map<?, ?> map) {
      map.forEach((k, v) -> result.put(String.valueOf(k),
          v instanceof Map<?, ?> m && m.get("condition") != null ? String.valueOf(m.get("condition"))
              : "service_started"));
    }
    return result;
  }

  @SuppressWarnings("unchecked")
  static Map<String, Object> asMap(Object o, String what) {
    if (!(o instanceof Map)) {
      fail(what + " is not a YAML mapping");
    }
    return (Map<String, Object>) o;
  }
}
