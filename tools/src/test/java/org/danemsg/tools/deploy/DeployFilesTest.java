package org.danemsg.tools.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.danemsg.tools.deploy.ComposeFile.Mount;
import org.danemsg.tools.deploy.Dockerfile.Instruction;
import org.junit.jupiter.api.Test;

/**
 * Static checks of deploy/: the compose demo, the Balena fleet files, their Dockerfiles and scripts.
 * No Docker engine is needed (none runs on our machines): the files are parsed and every file,
 * volume, service and variable they name is checked against the repository and the node's settings.
 *
 * <p>The node's settings are the {@code ${?NAME}} variables of node/ and client/src/main/resources/reference.conf;
 * {@code -Ddanemsg.node.reference=FILE} points at another copy (e.g. the node branch's worktree).
 */
class DeployFilesTest {

  private static final Path ROOT = repositoryRoot();
  private static final Path DEMO = ROOT.resolve("deploy/compose/docker-compose.yml");
  private static final Path BALENA = ROOT.resolve("deploy/balena/docker-compose.yml");
  private static final Path DEMO_DOCKERFILE = ROOT.resolve("deploy/compose/Dockerfile");
  private static final Path BALENA_DOCKERFILE = ROOT.resolve("deploy/balena/Dockerfile");
  private static final List<Path> COMPOSE_FILES = List.of(DEMO, BALENA);
  private static final List<Path> DOCKERFILES = List.of(DEMO_DOCKERFILE, BALENA_DOCKERFILE);
  private static final Path TOOLS_WRAPPER = ROOT.resolve("deploy/compose/image/tools");

  /** The demo's devices, as ./demo.sh also names them; carol is the RSA one. */
  private static final List<String> DEMO_DEVICES =
      List.of("alice._device.demo.test", "bob._device.demo.test", "carol._device.demo.test:rsa",
          "collector._device.demo.test");

  /** The members of the collector's cluster (profile cluster). */
  private static final List<String> COLLECTOR_MEMBERS = List.of("collector-1", "collector-2", "collector-3");

  // ---------------------------------------------------------------- compose files, both

  @Test
  void demoComposeFileRunsKnotMosquittoInitAndThreeNodes() {
    ComposeFile demo = ComposeFile.read(DEMO);
    assertEquals(Set.of("knot", "mosquitto", "accounts", "init", "alice", "bob", "carol", "collector-1",
        "collector-2", "collector-3"), demo.services().keySet());
    // By default (no variable set) the registry's images, as before.
    assertTrue(demo.image("knot").orElseThrow().startsWith("cznic/knot:"));
    assertTrue(demo.image("mosquitto").orElseThrow().startsWith("eclipse-mosquitto:2"));
    // the accounts service needs mosquitto_passwd, which the broker's image has
    assertTrue(demo.image("accounts").orElseThrow().startsWith("eclipse-mosquitto:2"));
    assertEquals(Set.of("init", "alice", "bob", "carol", "collector-1", "collector-2", "collector-3"),
        Set.copyOf(danemsgServices(demo)));
    // The cluster's members run only with --profile cluster: `up` alone (./demo.sh's compose test) is unchanged.
    for (String service : demo.services().keySet()) {
      assertEquals(COLLECTOR_MEMBERS.contains(service) ? List.of("cluster") : null, demo.service(service).get("profiles"),
          service);
    }
    for (String service : danemsgServices(demo)) {
      assertEquals(Optional.of("danemsg:local"), demo.image(service), service);
    }
  }

  /**
   * Each image is chosen by a variable (the registry's image its default), and the compose test sets
   * exactly these variables to the images it builds without a registry.
   */
  @Test
  void demoImagesAreChosenByTheVariablesTheComposeTestSets() throws IOException {
    ComposeFile demo = ComposeFile.read(DEMO);
    Map<String, String> expected = new TreeMap<>();
    expected.put("knot", "DANEMSG_KNOT_IMAGE");
    expected.put("accounts", "DANEMSG_MOSQUITTO_IMAGE");
    expected.put("mosquitto", "DANEMSG_MOSQUITTO_IMAGE");
    for (String service : danemsgServices(demo)) {
      expected.put(service, "DANEMSG_IMAGE");
    }
    Map<String, String> actual = new TreeMap<>();
    for (String service : demo.services().keySet()) {
      actual.put(service, demo.imageVariable(service).orElse("(none)"));
    }
    assertEquals(expected, actual);
    String test = Files.readString(ROOT.resolve("deploy/test/compose-test.sh"));
    for (String variable : Set.copyOf(expected.values())) {
      assertTrue(test.contains("\"" + variable + "=$"), "compose-test.sh does not set " + variable);
    }
  }

  @Test
  void everyBuildContextAndDockerfileExists() {
    for (Path file : COMPOSE_FILES) {
      ComposeFile compose = ComposeFile.read(file);
      for (String service : compose.services().keySet()) {
        compose.build(service).ifPresent(build -> {
          assertTrue(Files.isDirectory(build.context()), file + ": build context of " + service
              + " does not exist: " + build.context());
          assertTrue(Files.isRegularFile(build.dockerfile()), file + ": Dockerfile of " + service
              + " does not exist: " + build.dockerfile());
          assertTrue(DOCKERFILES.contains(build.dockerfile()), file + ": " + service + " builds "
              + build.dockerfile() + ", which these tests do not check");
        });
      }
    }
  }

  @Test
  void everyBindMountedFileExists() {
    for (Path file : COMPOSE_FILES) {
      ComposeFile compose = ComposeFile.read(file);
      for (String service : compose.services().keySet()) {
        for (Mount m : compose.mounts(service)) {
          if (m.isBind()) {
            Path host = compose.dir().resolve(m.source()).normalize();
            assertTrue(Files.exists(host), file + ": " + service + " mounts " + m.source()
                + ", which does not exist (" + host + ")");
            assertTrue(host.startsWith(ROOT), file + ": " + service + " mounts " + host
                + " from outside the repository");
          }
        }
      }
    }
  }

  @Test
  void everyNamedVolumeIsDeclaredAndEveryDeclaredOneIsUsed() {
    for (Path file : COMPOSE_FILES) {
      ComposeFile compose = ComposeFile.read(file);
      Set<String> used = new TreeSet<>();
      for (String service : compose.services().keySet()) {
        compose.mounts(service).stream().filter(m -> !m.isBind()).forEach(m -> used.add(m.source()));
      }
      Set<String> declared = new TreeSet<>(compose.declaredVolumes().keySet());
      assertEquals(declared, used, file + ": named volumes used (right) and declared (left) differ");
    }
  }

  @Test
  void everyVariableIsANodeSettingOrReadByTheServicesEntrypoint() throws IOException {
    Set<String> node = nodeVariables();
    String toolsWrapper = read(TOOLS_WRAPPER);
    for (Path file : COMPOSE_FILES) {
      ComposeFile compose = ComposeFile.read(file);
      for (String service : compose.services().keySet()) {
        boolean danemsg = isDanemsgImage(compose, service);
        String script = entrypointScript(compose, service).map(DeployFilesTest::read).orElse("");
        for (String name : compose.environment(service).keySet()) {
          boolean readByScript = script.contains("$" + name) || script.contains("${" + name);
          boolean readByTools = danemsg && (toolsWrapper.contains("$" + name) || toolsWrapper.contains("${" + name));
          assertTrue((danemsg && node.contains(name)) || readByScript || readByTools, file + ": service "
              + service + " sets " + name + ", which neither the node reads (reference.conf: " + node + ")"
              + " nor the service's entrypoint script nor the image's tools wrapper");
        }
      }
    }
  }

  @Test
  void dependsOnNamesServicesThatCanReachTheCondition() {
    Set<String> conditions = Set.of("service_started", "service_healthy", "service_completed_successfully");
    for (Path file : COMPOSE_FILES) {
      ComposeFile compose = ComposeFile.read(file);
      for (String service : compose.services().keySet()) {
        compose.dependsOn(service).forEach((target, condition) -> {
          assertTrue(compose.services().containsKey(target), file + ": " + service
              + " depends on " + target + ", which is not a service");
          assertTrue(conditions.contains(condition), file + ": " + service + ": unknown condition " + condition);
          if (condition.equals("service_healthy")) {
            assertTrue(compose.service(target).containsKey("healthcheck") || isDanemsgImage(compose, target),
                file + ": " + service + " waits for " + target + " to be healthy, but it has no healthcheck");
          }
        });
      }
    }
  }

  // ---------------------------------------------------------------- the demo's wiring

  @Test
  void initCreatesTheDemoDevicesAndEachNodeMountsItsOwnIdentity() {
    ComposeFile demo = ComposeFile.read(DEMO);
    String devices = demo.environment("init").get("DEVICES");
    assertNotNull(devices, "init has no DEVICES");
    assertEquals(DEMO_DEVICES, List.of(devices.trim().split("\\s+")));

    Map<String, String> volumeOfDevice = new LinkedHashMap<>();
    for (String device : DEMO_DEVICES) {
      String name = device.replaceFirst(":.*", "");
      String dir = "/identities/" + name.substring(0, name.indexOf('.'));
      Mount m = demo.mountAt("init", dir).orElseThrow(() -> new AssertionError("init mounts no volume at " + dir));
      assertFalse(m.isBind() || m.readOnly(), "init must write " + dir + " on a named volume");
      volumeOfDevice.put(name, m.source());
    }
    Set<String> names = new LinkedHashSet<>();
    for (String node : nodeServices(demo)) {
      Map<String, String> env = demo.environment(node);
      String name = env.get("IDENTITY_NAME");
      names.add(name);
      assertTrue(volumeOfDevice.containsKey(name), node + " runs " + name + ", which init does not create");
      String cryptoPath = env.getOrDefault("CRYPTO_PATH", imageEnvironment(DEMO_DOCKERFILE).get("CRYPTO_PATH"));
      Mount identity = demo.mountAt(node, cryptoPath)
          .orElseThrow(() -> new AssertionError(node + " mounts nothing at its CRYPTO_PATH " + cryptoPath));
      assertEquals(volumeOfDevice.get(name), identity.source(), node + " must mount the volume init wrote "
          + name + " to");
      String dataPath = env.getOrDefault("DATA_PATH", imageEnvironment(DEMO_DOCKERFILE).get("DATA_PATH"));
      assertTrue(demo.mountAt(node, dataPath).filter(m -> !m.isBind() && !m.readOnly()).isPresent(),
          node + " needs a writable named volume at its DATA_PATH " + dataPath);
    }
    assertEquals(volumeOfDevice.keySet(), names, "every device init creates has its node");
  }

  @Test
  void nodesReadTheTrustAnchorKnotWritesToTheirSharedVolume() {
    ComposeFile demo = ComposeFile.read(DEMO);
    String zone = demo.environment("knot").get("ZONE");
    String knotScript = read(entrypointScript(demo, "knot").orElseThrow());
    for (String service : List.of("init", "alice", "bob", "carol")) {
      String anchor = demo.environment(service).get("DNSSEC_TRUST_ANCHOR");
      assertNotNull(anchor, service + " sets no DNSSEC_TRUST_ANCHOR");
      assertFileKnotWrites(demo, service, anchor, "/anchors", zone + ".ds");
    }
    assertTrue(knotScript.contains("ANCHOR=/anchors/$ZONE.ds") && knotScript.contains("keymgr"),
        "knot's entrypoint writes `keymgr ZONE ds` to /anchors/$ZONE.ds");
  }

  @Test
  void initReadsTheTsigKeyKnotGeneratesOnTheirSharedVolume() {
    ComposeFile demo = ComposeFile.read(DEMO);
    String key = demo.environment("init").get("TSIG_KEY_FILE");
    assertNotNull(key, "init sets no TSIG_KEY_FILE");
    assertFileKnotWrites(demo, "init", key, "/tsig", "update.key");
    assertTrue(read(entrypointScript(demo, "knot").orElseThrow()).contains("/tsig/update.key"));
  }

  @Test
  void nodesReachTheBrokerAndKnotByServiceNameOnTheirListeningPorts() throws IOException {
    ComposeFile demo = ComposeFile.read(DEMO);
    String knotConf = Files.readString(demo.hostPathOf("knot", "/config/knot.conf").orElseThrow());
    Matcher listen = Pattern.compile("listen:\\s*\\S+@(\\d+)").matcher(knotConf);
    assertTrue(listen.find(), "knot.conf has no listen address");
    String mosquittoConf = Files.readString(
        demo.hostPathOf("mosquitto", "/mosquitto/config/mosquitto.conf").orElseThrow());
    Matcher listener = Pattern.compile("(?m)^listener\\s+(\\d+)").matcher(mosquittoConf);
    assertTrue(listener.find(), "mosquitto.conf has no listener");
    for (String service : List.of("init", "alice", "bob", "carol")) {
      Map<String, String> env = demo.environment(service);
      assertEquals("knot:" + listen.group(1), env.get("DNS_SERVER"), service + ": DNS_SERVER");
      if (!service.equals("init")) {
        assertEquals("mosquitto", env.get("MQTT_HOST"), service + ": MQTT_HOST");
        assertEquals(listener.group(1), env.get("MQTT_PORT"), service + ": MQTT_PORT");
      }
    }
    assertEquals("knot:" + listen.group(1), demo.environment("init").get("DNS_PRIMARY"));
    assertTrue(mosquittoConf.contains("persistence true"));
  }

  // ---------------------------------------------------------------- the demo's broker accounts

  @Test
  void theBrokerTakesOnlyAccountsTiesSessionsToThemAndBoundsMessageSizes() throws IOException {
    ComposeFile demo = ComposeFile.read(DEMO);
    String conf = Files.readString(demo.hostPathOf("mosquitto", "/mosquitto/config/mosquitto.conf").orElseThrow());
    assertTrue(conf.contains("\nallow_anonymous false\n"), "anonymous clients are refused");
    assertFalse(conf.contains("allow_anonymous true"));
    assertTrue(conf.contains("\nuse_username_as_clientid true\n"), "a session belongs to an account");
    Matcher limit = Pattern.compile("(?m)^message_size_limit (\\d+)$").matcher(conf);
    assertTrue(limit.find(), "message_size_limit is set");
    long bytes = Long.parseLong(limit.group(1));
    Matcher nodeLimit = Pattern.compile("(?m)^\\s*max-message-size = (\\d+)$")
        .matcher(read(ROOT.resolve("client/src/main/resources/reference.conf")));
    assertTrue(nodeLimit.find());
    assertTrue(bytes >= Long.parseLong(nodeLimit.group(1)) && bytes <= 1024 * 1024,
        "message_size_limit " + bytes + " lets the node's largest message through and little more");

    Matcher passwordFile = Pattern.compile("(?m)^password_file (\\S+)$").matcher(conf);
    assertTrue(passwordFile.find(), "mosquitto.conf names a password_file");
    Mount brokerSide = demo.mountHolding("mosquitto", passwordFile.group(1))
        .orElseThrow(() -> new AssertionError(passwordFile.group(1) + " is on no volume of mosquitto"));
    assertFalse(brokerSide.isBind(), "the password file is generated on a named volume, never committed");
    assertEquals("passwords", passwordFile.group(1).substring(brokerSide.target().length() + 1));
    Mount accountsSide = demo.mountAt("accounts", "/accounts")
        .orElseThrow(() -> new AssertionError("accounts mounts nothing at /accounts"));
    assertEquals(brokerSide.source(), accountsSide.source(), "mosquitto reads the file accounts writes");
    assertFalse(accountsSide.readOnly());
    String script = read(entrypointScript(demo, "accounts").orElseThrow());
    assertTrue(script.contains("ACCOUNTS=/accounts") && script.contains("\"$ACCOUNTS/passwords\"")
        && script.contains("mosquitto_passwd -U"), "accounts.sh writes the hashed /accounts/passwords");
    assertEquals("service_completed_successfully", demo.dependsOn("mosquitto").get("accounts"),
        "mosquitto starts once its password file exists");
    String healthcheck = String.valueOf(demo.service("mosquitto").get("healthcheck"));
    assertTrue(healthcheck.contains("-u healthcheck") && healthcheck.contains("/mosquitto/accounts/healthcheck.password")
        && script.contains("$ACCOUNTS/healthcheck.password"), "the healthcheck logs in with its own account");

    Matcher aclFile = Pattern.compile("(?m)^acl_file (\\S+)$").matcher(conf);
    assertTrue(aclFile.find(), "mosquitto.conf names an acl_file");
    List<String> rules = Files.readAllLines(demo.hostPathOf("mosquitto", aclFile.group(1))
        .orElseThrow(() -> new AssertionError(aclFile.group(1) + " is not bind-mounted"))).stream()
        .map(String::strip).filter(l -> !l.isEmpty() && !l.startsWith("#")).toList();
    // The rules BrokerAccountsTest runs a real Mosquitto with; then the collector's cluster members (profile
    // cluster), each allowed to read the collector's topic only.
    assertEquals(List.of("pattern read %u", "pattern write +"), rules.subList(0, 2));
    List<String> members = new java.util.ArrayList<>();
    for (int i = 1; i <= COLLECTOR_MEMBERS.size(); i++) {
      members.add("user member" + i + "@collector._device.demo.test");
      members.add("topic read collector._device.demo.test");
    }
    assertEquals(members, rules.subList(2, rules.size()));
  }

  @Test
  void eachNodeLogsInWithItsOwnAccountWhosePasswordIsOnItsOwnVolume() {
    ComposeFile demo = ComposeFile.read(DEMO);
    assertEquals(demo.environment("init").get("DEVICES"), demo.environment("accounts").get("DEVICES"),
        "accounts makes an account for every device init creates");
    String script = read(entrypointScript(demo, "accounts").orElseThrow());
    assertTrue(script.contains("dir=/devices/${name%%.*}") && script.contains("\"$dir/node.password\"")
        && script.contains("\"$dir/send.password\"") && script.contains("send@%s:%s"), script);
    for (String node : nodeServices(demo)) {
      Map<String, String> env = demo.environment(node);
      String name = env.get("IDENTITY_NAME");
      String label = name.substring(0, name.indexOf('.'));
      if (COLLECTOR_MEMBERS.contains(node)) {
        continue; // a cluster member: theCollectorRunsAsThreeMembersOfOneClusterInProfileCluster
      }
      assertEquals(name, env.get("MQTT_USERNAME"), node + ": the account is the device's name (its topic)");
      assertFalse(env.containsKey("MQTT_PASSWORD") || env.containsKey("SEND_MQTT_PASSWORD"),
          node + ": no password in the compose file");
      Mount written = demo.mountAt("accounts", "/devices/" + label)
          .orElseThrow(() -> new AssertionError("accounts mounts nothing at /devices/" + label));
      assertEquals("send@" + name, env.get("SEND_MQTT_USERNAME"), node + ": tools send's account");
      for (Map.Entry<String, String> file : Map.of("MQTT_PASSWORD_FILE", "node.password",
          "SEND_MQTT_PASSWORD_FILE", "send.password").entrySet()) {
        String path = env.get(file.getKey());
        assertNotNull(path, node + " sets no " + file.getKey());
        Mount read = demo.mountHolding(node, path)
            .orElseThrow(() -> new AssertionError(node + ": " + path + " is on no volume"));
        assertEquals(written.source(), read.source(), node + ": " + path + " is on the volume accounts writes");
        assertTrue(read.readOnly(), node + " only reads its passwords");
        assertEquals(file.getValue(), path.substring(read.target().length() + 1), node + ": " + file.getKey());
      }
    }
  }

  @Test
  void theCollectorRunsAsThreeMembersOfOneClusterInProfileCluster() throws IOException {
    ComposeFile demo = ComposeFile.read(DEMO);
    String name = "collector._device.demo.test";
    assertEquals(name + ":3", demo.environment("accounts").get("CLUSTER_MEMBERS"));
    String script = read(entrypointScript(demo, "accounts").orElseThrow());
    assertTrue(script.contains("$dir/member$i.password") && script.contains("$dir/send$i.password")
        && script.contains("member%s@%s:%s"), script);
    String acl = read(ROOT.resolve("deploy/compose/mosquitto/acl"));
    Mount written = demo.mountAt("accounts", "/devices/collector").orElseThrow();
    Set<String> identityVolumes = new LinkedHashSet<>();
    Set<String> dataVolumes = new LinkedHashSet<>();
    for (int i = 1; i <= COLLECTOR_MEMBERS.size(); i++) {
      String member = COLLECTOR_MEMBERS.get(i - 1);
      Map<String, String> env = demo.environment(member);
      assertEquals(name, env.get("IDENTITY_NAME"), member);
      assertEquals("member" + i + "@" + name, env.get("MQTT_USERNAME"), member + ": an account of its own");
      assertTrue(acl.contains("user member" + i + "@" + name + "\ntopic read " + name + "\n"),
          "the ACL lets member" + i + " read the collector's topic");
      for (Map.Entry<String, String> file : Map.of("MQTT_PASSWORD_FILE", "member" + i + ".password",
          "SEND_MQTT_PASSWORD_FILE", "send" + i + ".password", "API_MQTT_PASSWORD_FILE", "send" + i + ".password")
          .entrySet()) {
        Mount read = demo.mountHolding(member, env.get(file.getKey())).orElseThrow();
        assertEquals(written.source(), read.source(), member + ": " + file.getKey());
        assertEquals(file.getValue(), env.get(file.getKey()).substring(read.target().length() + 1), member);
      }
      assertEquals("send" + i + "@" + name, env.get("SEND_MQTT_USERNAME"), member);
      assertEquals("send" + i + "@" + name, env.get("API_MQTT_USERNAME"), member);
      assertEquals(member + ":2552", env.get("CLUSTER_LISTEN"), member + " listens on its service name");
      assertEquals("collector-1:2552,collector-2:2552,collector-3:2552", env.get("CLUSTER_SEEDS"), member);
      identityVolumes.add(demo.mountAt(member, env.get("CRYPTO_PATH")).orElseThrow().source());
      dataVolumes.add(demo.mountAt(member, env.get("DATA_PATH")).orElseThrow().source());
    }
    assertEquals(1, identityVolumes.size(), "the members share one identity: " + identityVolumes);
    assertEquals(3, dataVolumes.size(), "each member has its own data folder: " + dataVolumes);
  }

  @Test
  void theToolsWrapperSendsWithTheSendAccountWhenOneIsSet(@org.junit.jupiter.api.io.TempDir Path dir)
      throws Exception {
    // A stand-in launcher prints the account the tools would use.
    Path launcher = dir.resolve("danemsg-tools");
    Files.writeString(launcher, "#!/bin/sh\necho \"$MQTT_USERNAME ${MQTT_PASSWORD:-none} ${MQTT_PASSWORD_FILE:-none}\"\n");
    launcher.toFile().setExecutable(true);
    ProcessBuilder run = new ProcessBuilder("sh", TOOLS_WRAPPER.toString(), "send", "x", "y")
        .redirectErrorStream(true);
    run.environment().put("DANEMSG_TOOLS_LAUNCHER", launcher.toString());
    run.environment().put("MQTT_USERNAME", "alice._device.demo.test");
    run.environment().put("MQTT_PASSWORD_FILE", "/broker/node.password");
    run.environment().put("SEND_MQTT_USERNAME", "send@alice._device.demo.test");
    run.environment().put("SEND_MQTT_PASSWORD_FILE", "/broker/send.password");
    Process p = run.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
    assertTrue(p.waitFor(10, TimeUnit.SECONDS));
    assertEquals("send@alice._device.demo.test none /broker/send.password", out);
  }

  @Test
  void knotSignsTheZoneFromItsMountedZoneFile() throws IOException {
    ComposeFile demo = ComposeFile.read(DEMO);
    String zone = demo.environment("knot").get("ZONE");
    assertEquals("demo.test", zone);
    String conf = Files.readString(demo.hostPathOf("knot", "/config/knot.conf")
        .orElseThrow(() -> new AssertionError("knot.conf is not mounted at /config/knot.conf")));
    assertTrue(conf.contains("domain: " + zone), "knot.conf serves " + zone);
    assertTrue(conf.contains("dnssec-signing: on") && conf.contains("ecdsap256sha256"), "knot signs the zone");
    Matcher file = Pattern.compile("file:\\s*\"([^\"]+)\"").matcher(conf);
    assertTrue(file.find(), "knot.conf names the zone file");
    Path zoneFile = demo.hostPathOf("knot", file.group(1))
        .orElseThrow(() -> new AssertionError("the zone file " + file.group(1) + " is not bind-mounted"));
    assertTrue(Files.readString(zoneFile).contains("$ORIGIN " + zone + "."), zoneFile + " is the zone " + zone);
    Matcher include = Pattern.compile("include:\\s*\"([^\"]+)\"").matcher(conf);
    assertTrue(include.find(), "knot.conf includes the generated TSIG key");
    Mount storage = demo.mountHolding("knot", include.group(1))
        .orElseThrow(() -> new AssertionError(include.group(1) + " is on no volume"));
    assertFalse(storage.isBind(), "the TSIG secret stays on a named volume, not in the repository");
    assertFalse(conf.matches("(?s).*secret:\\s*[A-Za-z0-9+/]{20,}.*"), "no TSIG secret in knot.conf");
  }

  // ---------------------------------------------------------------- Dockerfiles

  @Test
  void runtimeImagesAreTheMultiArchTemurinJre() throws IOException {
    for (Path file : DOCKERFILES) {
      Dockerfile d = Dockerfile.read(file);
      String base = Dockerfile.fromImage(d.finalStage().get(0));
      // FROM ${BASE_IMAGE}: the default of the build argument (the offline Debian base is another value)
      if (base.matches("\\$\\{\\w+}")) {
        String arg = base.substring(2, base.length() - 1) + "=";
        base = d.all("ARG").stream().map(Instruction::arguments).filter(a -> a.startsWith(arg))
            .map(a -> a.substring(arg.length())).findFirst().orElse(base);
      }
      assertTrue(base.matches("eclipse-temurin:17-jre(-[a-z]+)?"), file + ": runtime base " + base
          + " is not eclipse-temurin:17-jre (amd64, arm64, arm/v7)");
    }
    Instruction buildStage = Dockerfile.read(DEMO_DOCKERFILE).all("FROM").get(0);
    assertTrue(buildStage.arguments().contains("--platform=$BUILDPLATFORM"),
        "the jars are built once, on the builder's platform: " + buildStage);
    assertTrue(Dockerfile.fromImage(buildStage).startsWith("maven:3.9-eclipse-temurin-17"), buildStage.toString());
  }

  @Test
  void imagesRunTheNodeAsANonRootUser() throws IOException {
    for (Path file : DOCKERFILES) {
      List<Instruction> stage = Dockerfile.read(file).finalStage();
      String user = null;
      Instruction cmd = null;
      for (Instruction i : stage) {
        switch (i.keyword()) {
          case "USER" -> user = i.arguments();
          case "CMD", "ENTRYPOINT" -> {
            assertNotNull(user, file + ": " + i + " before any USER: it would run as root");
            cmd = i;
          }
          default -> { }
        }
      }
      assertNotNull(user, file + ": no USER");
      String name = user.split(":")[0];
      assertFalse(name.equals("root") || name.equals("0"), file + ": USER " + user);
      assertNotNull(cmd, file + ": no CMD");
      List<String> words = Dockerfile.jsonWords(cmd.arguments());
      // The launcher (bin/danemsg-node) runs /opt/danemsg/node.jar with the recommended JVM options.
      assertEquals(List.of("/opt/danemsg/bin/danemsg-node"), words, file + ": " + cmd);
      assertTrue(copiedInto(Dockerfile.read(file)).contains("/opt/danemsg/bin/danemsg-node"), file + ": launcher not copied");
      String created = stage.stream().filter(i -> i.keyword().equals("RUN")).map(Instruction::arguments)
          .collect(Collectors.joining(" "));
      assertTrue(created.contains("useradd") && created.contains(name), file + ": user " + name + " is created");
      assertTrue(created.contains("chown " + name + ":" + name + " /identity /data"),
          file + ": /identity and /data belong to " + name);
    }
  }

  @Test
  void imagesHaveAHealthcheckTheyShip() throws IOException {
    for (Path file : DOCKERFILES) {
      Dockerfile d = Dockerfile.read(file);
      List<Instruction> checks = d.finalStage().stream().filter(i -> i.keyword().equals("HEALTHCHECK")).toList();
      assertEquals(1, checks.size(), file + ": one HEALTHCHECK");
      String command = checks.get(0).arguments().replaceFirst("(?s).*?CMD\\s+", "");
      String script = Dockerfile.jsonWords(command).get(0);
      assertTrue(copiedInto(d).contains(script), file + ": the healthcheck " + script + " is not copied");
    }
  }

  @Test
  void imagesPutTheToolsWrapperOnThePath() throws IOException {
    String wrapper = Files.readString(ROOT.resolve("deploy/compose/image/tools"));
    assertTrue(wrapper.contains("exec \"${DANEMSG_TOOLS_LAUNCHER:-/opt/danemsg/bin/danemsg-tools}\" \"$@\""), wrapper);
    for (Path file : DOCKERFILES) {
      Set<String> copied = copiedInto(Dockerfile.read(file));
      assertTrue(copied.contains("/usr/local/bin/tools"), file + ": tools is not copied to /usr/local/bin");
      assertTrue(copied.contains("/opt/danemsg/bin/danemsg-tools"), file + ": the tools launcher is not copied");
      assertTrue(copied.contains("/opt/danemsg/tools.jar") && copied.contains("/opt/danemsg/node.jar"),
          file + ": the jars go to /opt/danemsg: " + copied);
    }
  }

  @Test
  void imageEnvironmentIsMadeOfNodeSettings() throws IOException {
    Set<String> node = nodeVariables();
    for (Path file : DOCKERFILES) {
      Map<String, String> env = imageEnvironment(file);
      assertEquals(Map.of("CRYPTO_PATH", "/identity", "DATA_PATH", "/data"), env, file.toString());
      assertTrue(node.containsAll(env.keySet()), file + ": " + env.keySet() + " are not all node settings " + node);
    }
  }

  @Test
  void composeImageCopiesOnlyFilesTheBuildContextSends() throws IOException {
    DockerIgnore ignore = DockerIgnore.read(ROOT.resolve(".dockerignore"));
    for (Instruction i : Dockerfile.read(DEMO_DOCKERFILE).all("COPY")) {
      Dockerfile.Copy copy = Dockerfile.copy(i);
      if (copy.from() != null) {
        continue;
      }
      for (String source : copy.sources()) {
        assertTrue(Files.exists(ROOT.resolve(source)), "COPY source " + source + " does not exist in " + ROOT);
        if (!source.equals(".")) {
          assertTrue(ignore.includes(source), "COPY source " + source + " is excluded by .dockerignore");
        }
      }
    }
    String pom = Files.readString(ROOT.resolve("pom.xml"));
    Matcher module = Pattern.compile("<module>([^<]+)</module>").matcher(pom);
    List<String> needed = new ArrayList<>(List.of("pom.xml"));
    while (module.find()) {
      needed.add(module.group(1) + "/pom.xml");
      needed.add(module.group(1) + "/src");
    }
    for (String path : needed) {
      assertTrue(Files.exists(ROOT.resolve(path)), path + " (a module of the build) does not exist");
      assertTrue(ignore.includes(path), "the Maven build needs " + path + ", but .dockerignore leaves it out");
    }
    for (String path : List.of(".git", "tools/target/tools.jar", "protocol/target", "deploy/balena/build")) {
      assertFalse(ignore.includes(path), ".dockerignore should leave out " + path);
    }
  }

  @Test
  void balenaImageCopiesWhatPrepareShPutsIntoItsBuildFolder() throws IOException {
    String prepare = Files.readString(ROOT.resolve("deploy/balena/prepare.sh"));
    for (Instruction i : Dockerfile.read(BALENA_DOCKERFILE).all("COPY")) {
      for (String source : Dockerfile.copy(i).sources()) {
        assertTrue(source.startsWith("build/"), "Balena uploads deploy/balena only; " + source
            + " should come from prepare.sh's build/");
        String name = source.substring("build/".length());
        assertTrue(prepare.contains("/" + name + "\"") || prepare.contains("/" + name + " "),
            "prepare.sh does not copy " + name + " into build/");
        if (!name.endsWith(".jar")) {
          assertTrue(Files.isRegularFile(ROOT.resolve("deploy/compose/image").resolve(name))
              || Files.isRegularFile(ROOT.resolve("bin").resolve(name)), name);
        }
      }
    }
    assertEquals("build/", Files.readString(ROOT.resolve("deploy/balena/.gitignore")).strip());
  }

  // ---------------------------------------------------------------- Balena

  @Test
  void balenaYmlDescribesAFleetForArmv7AndAarch64Pis() {
    Map<String, Object> yml = ComposeFile.asMap(ComposeFile.loadYaml(ROOT.resolve("deploy/balena/balena.yml")),
        "balena.yml");
    assertEquals("danemsg", yml.get("name"));
    assertEquals("sw.application", yml.get("type"));
    assertTrue(String.valueOf(yml.get("version")).matches("\\d+\\.\\d+\\.\\d+"), "version " + yml.get("version"));
    Map<String, Object> data = ComposeFile.asMap(yml.get("data"), "balena.yml data");
    List<?> types = (List<?>) data.get("supportedDeviceTypes");
    assertNotNull(types, "supportedDeviceTypes");
    assertTrue(types.contains(data.get("defaultDeviceType")), "the default device type is supported");
    assertTrue(types.contains("raspberrypi3") || types.contains("raspberry-pi2"), "an armv7 Pi: " + types);
    assertTrue(types.contains("raspberrypi4-64") && types.contains("raspberrypi5"), "aarch64 Pis: " + types);
    assertFalse(types.contains("raspberry-pi"), "armv6 (Pi 1, Zero) has no Java 17 image");
    Set<String> node = nodeVariables();
    for (Object entry : (List<?>) data.get("applicationEnvironmentVariables")) {
      for (Object name : ((Map<?, ?>) entry).keySet()) {
        assertTrue(node.contains(String.valueOf(name)), "balena.yml sets " + name + ", not a node setting");
      }
    }
  }

  @Test
  void balenaFleetRunsNodeAndMaintenanceOnOneIdentityVolume() {
    ComposeFile balena = ComposeFile.read(BALENA);
    assertTrue(String.valueOf(balena.root().get("version")).startsWith("2"), "Balena reads compose format 2.x");
    assertEquals(Set.of("node", "maintenance"), balena.services().keySet());
    assertEquals(List.of("node"), nodeServices(balena));
    assertEquals(List.of("sleep", "infinity"), balena.service("maintenance").get("command"));
    for (String service : balena.services().keySet()) {
      assertTrue(isDanemsgImage(balena, service), service + " builds the danemsg image");
      assertTrue(balena.mounts(service).stream().noneMatch(Mount::isBind), "Balena has no bind mounts: " + service);
    }
    for (String path : List.of("/identity", "/data")) {
      String nodeVolume = balena.mountAt("node", path).map(Mount::source).orElse(null);
      assertNotNull(nodeVolume, "node mounts nothing at " + path);
      assertEquals(nodeVolume, balena.mountAt("maintenance", path).map(Mount::source).orElse(null),
          "maintenance shares the node's " + path);
    }
  }

  // ---------------------------------------------------------------- scripts

  @Test
  void shellScriptsPassBashSyntaxCheck() throws Exception {
    List<Path> scripts;
    try (Stream<Path> files = Files.walk(ROOT.resolve("deploy"))) {
      scripts = files.filter(Files::isRegularFile)
          .filter(f -> !f.startsWith(ROOT.resolve("deploy/balena/build")))
          // build output (the .deb, the image archives), not scripts
          .filter(f -> !ROOT.relativize(f).toString().contains("/target/"))
          .filter(f -> read(f).startsWith("#!")).sorted().toList();
    }
    assertTrue(scripts.size() >= 5, "scripts found: " + scripts);
    for (Path script : scripts) {
      Process p = new ProcessBuilder("bash", "-n", script.toString()).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertTrue(p.waitFor(30, TimeUnit.SECONDS), "bash -n " + script + " did not finish");
      assertEquals(0, p.exitValue(), "bash -n " + script + ":\n" + out);
    }
  }

  // ---------------------------------------------------------------- helpers

  /** The folder with the root pom.xml and deploy/ (surefire runs in tools/). */
  private static Path repositoryRoot() {
    for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
      if (Files.isRegularFile(dir.resolve("pom.xml")) && Files.isDirectory(dir.resolve("deploy"))) {
        return dir;
      }
    }
    throw new IllegalStateException("no repository root (pom.xml + deploy/) above " + Path.of("").toAbsolutePath());
  }

  /** The environment variables the node reads: {@code ${?NAME}} in its and the client's reference.conf. */
  static Set<String> nodeVariables() {
    String property = System.getProperty("danemsg.node.reference");
    Path reference = property != null && !property.isBlank() ? Path.of(property)
        : ROOT.resolve("node/src/main/resources/reference.conf");
    if (!Files.isRegularFile(reference)) {
      fail("the node's settings file " + reference + " does not exist: the deploy files cannot be checked"
          + " against the node. Build with the node module, or run with"
          + " -Ddanemsg.node.reference=/path/to/node/src/main/resources/reference.conf");
    }
    // The settings the node shares with the tools are in the client module's reference.conf
    Path shared = ROOT.resolve("client/src/main/resources/reference.conf");
    Matcher m = Pattern.compile("\\$\\{\\?([A-Z][A-Z0-9_]*)}").matcher(read(reference) + read(shared));
    Set<String> names = new TreeSet<>();
    while (m.find()) {
      names.add(m.group(1));
    }
    assertTrue(names.containsAll(List.of("IDENTITY_NAME", "CRYPTO_PATH", "DATA_PATH", "MQTT_HOST", "MQTT_PORT",
        "DNS_SERVER", "DNSSEC_TRUST_ANCHOR")), reference + " lacks settings the deploy files rely on: " + names);
    return names;
  }

  /** Services built from one of our Dockerfiles. */
  private static boolean isDanemsgImage(ComposeFile compose, String service) {
    return compose.build(service).map(b -> DOCKERFILES.contains(b.dockerfile())).orElse(false);
  }

  private static List<String> danemsgServices(ComposeFile compose) {
    return compose.services().keySet().stream().filter(s -> isDanemsgImage(compose, s)).toList();
  }

  /** Services that run the image's CMD, the node (no entrypoint or command of their own). */
  private static List<String> nodeServices(ComposeFile compose) {
    return danemsgServices(compose).stream()
        .filter(s -> compose.entrypoint(s) == null && compose.service(s).get("command") == null).toList();
  }

  /** The host file of a service's entrypoint script (bind-mounted), when it has one. */
  private static Optional<Path> entrypointScript(ComposeFile compose, String service) {
    List<String> entrypoint = compose.entrypoint(service);
    if (entrypoint == null) {
      return Optional.empty();
    }
    String script = entrypoint.stream().filter(w -> w.endsWith(".sh")).findFirst()
        .orElseThrow(() -> new AssertionError(service + ": entrypoint " + entrypoint + " runs no script"));
    Path host = compose.hostPathOf(service, script)
        .orElseThrow(() -> new AssertionError(service + ": entrypoint script " + script + " is not bind-mounted"));
    assertTrue(Files.isRegularFile(host), service + ": entrypoint script " + host + " does not exist");
    return Optional.of(host);
  }

  /**
   * {@code path} in {@code service} is on a named volume that knot mounts writable at
   * {@code knotDir}, and is {@code fileName} in it.
   */
  private static void assertFileKnotWrites(ComposeFile demo, String service, String path, String knotDir,
      String fileName) {
    Mount reader = demo.mountHolding(service, path)
        .orElseThrow(() -> new AssertionError(service + ": " + path + " is on no volume"));
    assertFalse(reader.isBind(), service + ": " + path + " must be on a named volume");
    Mount writer = demo.mountAt("knot", knotDir)
        .orElseThrow(() -> new AssertionError("knot mounts nothing at " + knotDir));
    assertEquals(writer.source(), reader.source(), service + ": " + path + " must be on the volume knot writes");
    assertFalse(writer.readOnly(), "knot must write " + knotDir);
    assertEquals(fileName, path.substring(reader.target().length()).replaceFirst("^/", ""),
        service + ": " + path + " is not the file knot writes");
  }

  /** Every destination path a Dockerfile's COPY instructions create (in a folder: folder + file name). */
  private static Set<String> copiedInto(Dockerfile d) {
    Set<String> result = new TreeSet<>();
    for (Instruction i : d.finalStage()) {
      if (i.keyword().equals("COPY")) {
        Dockerfile.Copy c = Dockerfile.copy(i);
        for (String source : c.sources()) {
          String name = source.substring(source.lastIndexOf('/') + 1);
          result.add(c.destination().endsWith("/") ? c.destination() + name : c.destination());
        }
      }
    }
    return result;
  }

  /** ENV of a Dockerfile's final stage (the NAME=value form). */
  private static Map<String, String> imageEnvironment(Path dockerfile) {
    Map<String, String> env = new LinkedHashMap<>();
    try {
      for (Instruction i : Dockerfile.read(dockerfile).finalStage()) {
        if (i.keyword().equals("ENV")) {
          for (String word : Dockerfile.words(i.arguments())) {
            int eq = word.indexOf('=');
            assertTrue(eq > 0, dockerfile + ": write ENV as NAME=value: " + i);
            env.put(word.substring(0, eq), word.substring(eq + 1));
          }
        }
      }
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    return env;
  }

  private static String read(Path file) {
    try {
      return Files.readString(file);
    } catch (IOException e) {
      throw new IllegalStateException("cannot read " + file, e);
    }
  }
}
