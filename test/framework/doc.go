// Package framework is what the cluster test suites (admission, e2e,
// executor, install) share, so that each suite keeps only its cases and the
// fixtures specific to it. The local cluster itself is package cluster.
//
//   - Setting up the world: NewNamespace (which logs the pods' container
//     logs of a failed test, LogsOnFailure), InstallProjectCRDs,
//     InstallControllerRBAC, StartController (in-process, with the RBAC
//     manifest's permissions), Applier (YAML through the API server's
//     admission, as kubectl create does), Kubectl and MustKubectl,
//     MustCreate, ClaimDir.
//   - Waiting and reporting: Poll, WaitForPhase, DescribeStatus,
//     DescribeComponent, ExpectConditionMessage, JobCondition.
//   - Data to restore and its comparison: WriteTree, WriteEdgeCaseTree,
//     ScanTree, ExpectSameTree.
//   - Binaries and peers: BuildBinary, BuildImageBinaries, RunCommand,
//     ToolPath, StartProcess, StartVersitygw, FreeAddress, HTTPGet.
//   - Setup shared by a package's tests: Once.
package framework
