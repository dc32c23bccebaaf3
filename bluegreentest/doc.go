// Package bluegreentest helps test code built on bluegreen, and backends
// written for it. It has two halves.
//
// # Fakes
//
// In-memory implementations of the backend interfaces, for driving a whole
// Deployer in a test (in virtual time, inside a testing/synctest bubble):
//
//   - Compute: a bluegreen.Compute and bluegreen.Preparer whose
//     environments come up healthy, late, or never, per revision (Health);
//     a test can kill or crash an environment at any time.
//   - Router: a bluegreen.Router and bluegreen.Verifier with an optional
//     verify lag and the History of every routes applied.
//   - Hook: a bluegreen.Hook answering from a script per stage.
//   - Monitor: a bluegreen.Monitor whose alarms a test fires and clears.
//   - Store: a wrapper of any bluegreen.Store that can crash after N saves.
//
// Every fake is safe for concurrent use and embeds a Recorder: Calls
// returns every call it received, in order; Inject makes the next calls of an
// operation fail with a given error; React adds a function that sees every
// call first and may fail it, block it, or change the fakes' state, as
// client-go's reactors do. The operations are "ScaleUp", "Status",
// "ScaleDown", "Prepare", "Restore" (Compute), "SetRoutes", "Routes",
// "Verify" (Router), "Run" (Hook), "Check" (Monitor), "Load" and "Save"
// (Store).
//
// # Conformance suites
//
// TestCompute, TestRouter, TestStore, TestHook and TestMonitor state the
// contracts of the interfaces in bluegreen's backend.go as tests. Every
// backend runs the suite of each interface it implements from its own tests,
// through a harness that builds a fresh backend per subtest:
//
//	func TestConformance(t *testing.T) {
//		bluegreentest.TestStore(t, func(t *testing.T) bluegreen.Store {
//			return filestore.New(t.TempDir())
//		})
//	}
//
// The fakes pass every suite, which is what makes them trustworthy stand-ins.
package bluegreentest
