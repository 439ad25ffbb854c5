// Package hookaction performs one attempt of a HookTemplate's action
// (spec.action) for the Pod and Operator hook executors. Retries, the
// per-attempt timeout, HookTemplate resolution, parameter substitution,
// status and the Function executor's Jobs belong to the controller, which
// calls this package once per attempt with a context whose deadline is the
// attempt's timeout. Every call that does I/O returns as soon as that
// context is done, with an error that wraps ctx.Err().
//
// # Network actions (Operator and Pod executors)
//
// Perform runs httpGet, httpPost or tcpSocket from the calling process:
//
//   - httpGet / httpPost succeed on a final 2xx status. The response body is
//     not read on success; on failure the error names the method, the URL,
//     the status and an excerpt of at most 1 KiB of the body.
//   - Redirects are followed only while they stay on the same scheme, host
//     and port (at most 10 hops), so a hook never sends its headers to a
//     host nobody named. A redirect elsewhere is not followed and fails the
//     attempt with an error that names the Location. Consequently a 3xx is
//     never a success: a followed redirect is judged by where it lands. Go's
//     client rules apply to followed redirects: 307/308 repeat the method
//     and body, 301/302/303 after a POST continue as a GET.
//   - httpPost sends Body when it is set; otherwise the Form entries,
//     encoded as application/x-www-form-urlencoded (a key without values is
//     sent as "key="). Body has no default Content-Type; set one in
//     httpHeaders. A header named Host sets the request's Host.
//   - tcpSocket succeeds when a TCP connection opens; it is closed at once.
//   - The host is the action's own host or, when that is empty,
//     Endpoint.DefaultHost (the pod's IP for the Pod executor). With neither
//     the attempt fails naming e.g. action.httpGet.host. A port is a number
//     (also as a string, which is what ${PARAM} substitution yields) or a
//     container port name resolved against Endpoint.Ports; the Operator
//     executor has no pod, so a named port is an error there.
//   - HTTPS verifies the server's certificate against the name the user
//     wrote (Endpoint.TLSConfig, or the system roots). A host taken from
//     DefaultHost is an address picked at run time that no certificate
//     names; there the connection is encrypted but, as the kubelet does for
//     HTTPS probes, the certificate is not verified.
//   - Proxy environment variables are ignored (targets are usually pod IPs
//     or in-cluster services) and connections are not kept alive between
//     attempts.
//   - Every connection is checked against the caller's AddressPolicy when
//     it is dialled, on the IP address it is about to connect to, so a
//     host name and each followed redirect are judged by where they
//     actually lead. By default loopback, link-local, unspecified and cloud
//     metadata addresses are refused with an *AddressError: a hook's
//     author must not be able to aim the controller at itself, its node's
//     local services or the cloud's credentials.
//
// # Pod executor
//
// SelectPods chooses where a Pod-executor hook runs: ExecuteOnOne (the
// default) the first Running and Ready pod by name, ExecuteOnAll every
// selected pod, all of which must then be Running and Ready. Terminating
// pods are never chosen. PodRunner.Run runs the action in the chosen pods
// one after the other, in name order, and continues past a failing pod so
// that the error (a *PodsError) names every pod that failed.
//
// An exec action runs its command in action.containerName (default: the
// pod's first container) through the API server's pods/exec subresource,
// over WebSocket with a fallback to SPDY for API servers that refuse the
// upgrade, as kubectl exec does. No stdin and no TTY are attached. The last
// OutputLimit bytes of stdout and stderr are kept. A non-zero exit code is a
// failure, an *ExitError carrying the exit code and the end of stderr. Errors
// name the program (command[0]) but not its arguments, which may carry
// substituted secrets. Network actions run from the controller against the
// pod's IP and container ports (PodEndpoint).
package hookaction
