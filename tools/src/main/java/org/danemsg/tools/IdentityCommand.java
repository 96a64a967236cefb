package org.danemsg.tools;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code tools identity …}: this device's key, certificate and TLSA record. */
@Command(
    name = "identity",
    mixinStandardHelpOptions = true,
    description = "Create, show, publish and check this device's identity (key + certificate + TLSA record).",
    subcommands = {IdentityInitCommand.class, IdentityShowCommand.class, IdentityPublishCommand.class,
        IdentityCheckCommand.class, IdentityRotateCommand.class})
final class IdentityCommand implements Runnable {

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(),
        "missing subcommand: init, show, publish, check or rotate");
  }
}
