// Package local is the compute backend of bluegreen that runs environments
// as processes on this host: the embedded default, for trying bluegreen
// without a cloud account and for deploying to a single machine.
//
// A Compute runs each environment (a revision of a service in slot A or B)
// as N instances of a command, each listening on its own loopback port,
// given to it in $PORT. The revision's Spec (see Spec) says what to run and
// how to tell that an instance is ready. The backend captures each
// instance's output in a log file, reports instances that crash as
// unhealthy, and stops them with SIGTERM, then SIGKILL after a timeout.
//
// Routing is not its business: a router (the bluegreen proxy) sends traffic
// to the instances. The backend tells it, through the Targets interface,
// which addresses each environment's instances listen on once they are
// healthy, and asks it to forget (and drain) them before it stops them.
//
// Nothing outlives the deployer: every instance runs in its own process
// group; on Linux the kernel kills instances whose deployer dies; Close
// stops them all on an orderly exit; and ScaleDown, rollbacks included,
// stops an environment's whole process group.
//
// The state of deployments belongs in a bluegreen.Store; for a single host,
// package local/filestore keeps it in files. It is a separate package
// because it does not depend on where the environments run: a deploy tool
// can keep its state in files and run its environments elsewhere.
//
// # Systems
//
// The package runs instances on Unix systems. Linux adds the parent-death
// signal. Detached mode (Options.StateDir) needs the start time of a
// process, to tell a recorded instance from a later process that reuses its
// pid, and is available on Linux and macOS only: elsewhere New refuses a
// StateDir. Windows has no process groups or POSIX signals to stop an
// instance with: the package builds there, and ScaleUp (or New with a
// StateDir) fails with code bluegreen.CodeFailedPrecondition and a message
// saying what to use instead. Such errors come at those calls, never from
// the build.
package local
