package audithttp

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// clientIP returns the address of the client that made r: the peer
// (r.RemoteAddr), unless the peer is a trusted proxy, in which case the
// proxies' header is read from the right, skipping trusted proxies, and the
// first address not trusted is the client. An entry that does not parse
// stops the walk at the proxy that wrote it: what lies beyond cannot be
// trusted. When every hop is trusted, the leftmost is the client.
func (h *handler) clientIP(r *http.Request) (netip.Addr, bool) {
	peer, ok := parseAddr(r.RemoteAddr)
	if !ok || !h.trusted(peer) {
		return peer, ok
	}
	hops := forwardedFor(r.Header, h.opts.ForwardedHeader)
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		a, ok := parseAddr(hops[i])
		if !ok {
			return client, true
		}
		client = a
		if !h.trusted(a) {
			return a, true
		}
	}
	return client, true
}

func (h *handler) trusted(a netip.Addr) bool {
	for _, p := range h.opts.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// forwardedFor returns the addresses a header lists, client first: the
// comma-separated entries of X-Forwarded-For (or another header of that
// shape), or the for= parameters of Forwarded (RFC 7239). Several header
// lines are one list, in order.
func forwardedFor(hdr http.Header, name string) []string {
	var out []string
	rfc7239 := http.CanonicalHeaderKey(name) == "Forwarded"
	for _, line := range hdr.Values(name) {
		for _, elem := range strings.Split(line, ",") {
			if !rfc7239 {
				out = append(out, strings.TrimSpace(elem))
				continue
			}
			found := false
			for _, pair := range strings.Split(elem, ";") {
				k, v, ok := strings.Cut(strings.TrimSpace(pair), "=")
				if ok && strings.EqualFold(strings.TrimSpace(k), "for") {
					out = append(out, strings.Trim(strings.TrimSpace(v), `"`))
					found = true
					break
				}
			}
			if !found {
				out = append(out, "") // a hop that did not say: stops the walk
			}
		}
	}
	return out
}

// parseAddr parses an address with or without a port, an IPv6 address with
// or without brackets; IPv4-mapped IPv6 addresses become IPv4, zones are
// dropped.
func parseAddr(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone(""), true
	}
	if host, _, err := net.SplitHostPort(s); err == nil {
		s = host
	}
	s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap().WithZone(""), true
}
