package hookaction

import (
	"context"
	"fmt"
	"net/netip"
	"syscall"
)

// AllowLocalAddressesFlag is the restore-controller flag that sets
// AddressPolicy.AllowLocal; refusals name it.
const AllowLocalAddressesFlag = "--hook-allow-local-addresses"

// AddressPolicy decides which addresses network actions may connect to. It
// is checked when each connection is dialled, on the IP address actually
// connected to: after DNS resolution, and again for every redirect that is
// followed. The zero value refuses loopback (127.0.0.0/8, ::1), link-local
// (169.254.0.0/16, fe80::/10), unspecified (0.0.0.0, ::) and cloud
// metadata addresses (169.254.169.254, fd00:ec2::254, 100.100.100.200),
// also in their IPv4-mapped IPv6 forms: from the controller's pod, those
// reach the controller itself, its node or the cloud's credentials, never
// a workload.
type AddressPolicy struct {
	// AllowLocal lets actions connect to those addresses too.
	AllowLocal bool

	// deny, when set, refuses further addresses: it says what the address
	// is, or returns "" to let it pass. Tests use it to tell two servers on
	// loopback apart.
	deny func(netip.AddrPort) string
}

// AddressError is a connection that an AddressPolicy refused.
type AddressError struct {
	// Address is the IP address and port that was about to be dialled.
	Address string
	// Kind says what the address is, e.g. "a loopback address".
	Kind string
	// AllowedBy is the setting that would allow it; empty for none.
	AllowedBy string
}

func (e *AddressError) Error() string {
	msg := fmt.Sprintf("hook target %s is %s, which hooks may not reach", e.Address, e.Kind)
	if e.AllowedBy != "" {
		msg += fmt.Sprintf(" (%s allows it)", e.AllowedBy)
	}
	return msg
}

// metadataAddresses are the cloud instance metadata services: AWS, GCP,
// Azure, OpenStack and others (169.254.169.254, which is also
// link-local), AWS over IPv6, and Alibaba Cloud.
var metadataAddresses = []netip.Addr{
	netip.MustParseAddr("169.254.169.254"),
	netip.MustParseAddr("fd00:ec2::254"),
	netip.MustParseAddr("100.100.100.200"),
}

// localAddressKind says what ip is when the zero AddressPolicy refuses it,
// or returns "" when it does not.
func localAddressKind(ip netip.Addr) string {
	ip = ip.Unmap().WithZone("")
	for _, m := range metadataAddresses {
		if ip == m {
			return "a cloud metadata address"
		}
	}
	switch {
	case ip.IsLoopback():
		return "a loopback address"
	case ip.IsLinkLocalUnicast():
		return "a link-local address"
	case ip.IsUnspecified():
		return "an unspecified address"
	}
	return ""
}

// check refuses addr if the policy does.
func (p AddressPolicy) check(addr netip.AddrPort) error {
	if !p.AllowLocal {
		if kind := localAddressKind(addr.Addr()); kind != "" {
			return &AddressError{Address: addr.String(), Kind: kind, AllowedBy: "restore-controller " + AllowLocalAddressesFlag}
		}
	}
	if p.deny != nil {
		if kind := p.deny(addr); kind != "" {
			return &AddressError{Address: addr.String(), Kind: kind}
		}
	}
	return nil
}

// control is a net.Dialer ControlContext: it runs after the address was
// resolved and before the connection is made, for every address tried.
func (p AddressPolicy) control(_ context.Context, network, address string, _ syscall.RawConn) error {
	addr, err := netip.ParseAddrPort(address)
	if err != nil {
		// Not an IP address: refuse rather than guess.
		return fmt.Errorf("hook target %s (%s): not an IP address and port: %w", address, network, err)
	}
	return p.check(addr)
}
