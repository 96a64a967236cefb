package org.danemsg.tools;

import java.io.PrintWriter;
import org.danemsg.protocol.CryptoProviders;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code java -jar tools.jar <command>}: the operator's command line. */
@Command(
    name = "tools",
    mixinStandardHelpOptions = true,
    versionProvider = Tools.Version.class,
    description = "Operator tools for danemsg: identities and their TLSA records, DNS lookups, sending, a"
        + " node's received and refused messages.",
    subcommands = {IdentityCommand.class, ResolveCommand.class, SendCommand.class, InboxCommand.class,
        QuarantineCommand.class, BenchCommand.class},
    footer = {"", "Exit status: 0 ok, 1 failure, 2 bad usage."})
public final class Tools implements Runnable {

  @Option(names = "--verbose", scope = CommandLine.ScopeType.INHERIT,
      description = "Show stack traces of errors.")
  boolean verbose;

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(), "missing command");
  }

  /** Runs the tools with these arguments and returns the exit status. */
  public static int run(String[] args, PrintWriter out, PrintWriter err) {
    // main and the tests both come through here: the provider order is set before any command runs
    CryptoProviders.installAll();
    CommandLine commandLine = new CommandLine(new Tools());
    commandLine.setOut(out);
    commandLine.setErr(err);
    commandLine.setExecutionExceptionHandler((e, cl, parsed) -> {
      boolean verbose = parsed.matchedOptionValue("--verbose", false) || isVerbose(parsed);
      if (e instanceof CommandFailure failure) {
        cl.getErr().println("error: " + failure.getMessage());
        if (verbose && failure.getCause() != null) {
          failure.getCause().printStackTrace(cl.getErr());
        }
        cl.getErr().flush();
        return failure.exitCode();
      }
      cl.getErr().println("error: " + describe(e) + (verbose ? "" : " (--verbose shows details)"));
      if (verbose) {
        e.printStackTrace(cl.getErr());
      }
      cl.getErr().flush();
      return CommandFailure.FAILURE;
    });
    commandLine.setParameterExceptionHandler((e, args2) -> {
      CommandLine cl = e.getCommandLine();
      cl.getErr().println("error: " + e.getMessage());
      cl.getErr().println("Try '" + cl.getCommandSpec().qualifiedName() + " --help' for more information.");
      cl.getErr().flush();
      return CommandFailure.USAGE;
    });
    return commandLine.execute(args);
  }

  private static boolean isVerbose(CommandLine.ParseResult parsed) {
    for (CommandLine.ParseResult p = parsed; p != null; p = p.subcommand()) {
      if (p.hasMatchedOption("--verbose")) {
        return true;
      }
    }
    return false;
  }

  static String describe(Throwable e) {
    String message = e.getMessage();
    return message == null || message.isBlank() ? e.getClass().getSimpleName() : message;
  }

  public static void main(String[] args) {
    PrintWriter out = new PrintWriter(System.out, true);
    PrintWriter err = new PrintWriter(System.err, true);
    System.exit(run(args, out, err));
  }

  /** Prints the version from the jar manifest. */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String version = Tools.class.getPackage().getImplementationVersion();
      return new String[] {"danemsg tools " + (version == null ? "(development build)" : version)};
    }
  }
}
