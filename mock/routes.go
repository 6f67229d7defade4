package mock

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// handler serves one routed call under the key's lock. It returns the 200
// body, or an error.
type handler func(c *call) (any, *apiError)

type route struct {
	method  string
	pattern string // the path, with {wildcards}, as Mem's API reference writes it
	h       handler
}

// routes are the 20 documented v2 endpoints (notes, collections, mem-it). A literal segment is more
// specific than a wildcard, so POST /v2/notes/search is not read as a note
// id (GET /v2/notes/search is: it names no other route).
var routes = []route{
	{method: "POST", pattern: "/v2/mem-it", h: memIt},

	{method: "POST", pattern: "/v2/notes", h: createNote},
	{method: "GET", pattern: "/v2/notes", h: listNotes},
	{method: "POST", pattern: "/v2/notes/search", h: searchNotes},
	{method: "GET", pattern: "/v2/notes/{note_id}", h: getNote},
	{method: "PATCH", pattern: "/v2/notes/{note_id}", h: updateNote},
	{method: "DELETE", pattern: "/v2/notes/{note_id}", h: deleteNote},
	{method: "POST", pattern: "/v2/notes/{note_id}/trash", h: trashNote},
	{method: "POST", pattern: "/v2/notes/{note_id}/restore", h: restoreNote},
	{method: "GET", pattern: "/v2/notes/{note_id}/related-notes", h: relatedNotes},
	{method: "PATCH", pattern: "/v2/notes/{note_id}/created-at", h: setNoteCreatedAt},

	{method: "POST", pattern: "/v2/collections", h: createCollection},
	{method: "GET", pattern: "/v2/collections", h: listCollections},
	{method: "POST", pattern: "/v2/collections/search", h: searchCollections},
	{method: "GET", pattern: "/v2/collections/{collection_id}", h: getCollection},
	{method: "PATCH", pattern: "/v2/collections/{collection_id}", h: updateCollection},
	{method: "DELETE", pattern: "/v2/collections/{collection_id}", h: deleteCollection},
	{method: "PUT", pattern: "/v2/collections/{collection_id}/notes/{note_id}", h: addNoteToCollection},
	{method: "DELETE", pattern: "/v2/collections/{collection_id}/notes/{note_id}", h: removeNoteFromCollection},
	{method: "POST", pattern: "/v2/collections/{source_collection_id}/notes/{note_id}/move", h: moveNote},
}

// apiRouter matches the v2 routes, ignoring leading and trailing slashes.
var apiRouter = newRouter(true, len(routes), func(i int) string { return routes[i].method + " " + routes[i].pattern })

// router matches requests against a table of "METHOD /path/{wildcard}"
// patterns with an http.ServeMux whose handlers only report which route
// matched, so that the caller can meter, fault and lock before serving it.
type router struct {
	mux     *http.ServeMux
	methods []string // of each route
	trim    bool     // ignore leading and trailing slashes
}

// newRouter registers the n patterns that pattern returns, by index.
func newRouter(trim bool, n int, pattern func(i int) string) *router {
	rt := &router{mux: http.NewServeMux(), trim: trim}
	for i := range n {
		p := pattern(i)
		method, _, _ := strings.Cut(p, " ")
		rt.methods = append(rt.methods, method)
		rt.mux.Handle(p, routeIndex(i))
	}
	return rt
}

// routeIndex is the mux's handler for a route: it reports the route's index.
type routeIndex int

func (i routeIndex) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	w.(*routeWriter).index = int(i)
}

// routeMatch is what a router found for a request.
type routeMatch struct {
	index int           // the matched route, -1 for none
	req   *http.Request // the request as matched, with its path values
	allow string        // no route matched but some has this path: the methods they take (a 405)
}

// match finds the route for r's method and path. The path is matched as the
// mock always has: decoded, so an escaped slash separates segments like a
// plain one; without leading or trailing slashes if the router trims; an
// empty segment matches nothing, and "." or ".." is a name like any other.
// HEAD matches no route, although ServeMux would serve it with GET's.
func (rt *router) match(r *http.Request) routeMatch {
	r = rt.plain(r)
	if r.Method == http.MethodHead {
		q := *r
		q.Method = http.MethodOptions // a method no route has: the mux answers 404 or 405
		return rt.serve(&q)
	}
	return rt.serve(r)
}

// serve runs r through the mux.
func (rt *router) serve(r *http.Request) routeMatch {
	w := &routeWriter{index: -1}
	rt.mux.ServeHTTP(w, r)
	if w.index >= 0 {
		return routeMatch{index: w.index, req: r}
	}
	if w.status == http.StatusMethodNotAllowed {
		// ServeMux allows HEAD wherever GET is; no route here takes HEAD.
		allow := strings.Split(w.header.Get("Allow"), ", ")
		allow = slices.DeleteFunc(allow, func(m string) bool { return m == http.MethodHead })
		return routeMatch{index: -1, allow: strings.Join(allow, ", ")}
	}
	return routeMatch{index: -1} // not found, or a redirect to a clean path
}

// firstWithPath returns the index of the first route, in table order, that
// has r's path (under another method than r's), or -1.
func (rt *router) firstWithPath(r *http.Request, allow string) int {
	allowed := strings.Split(allow, ", ")
	r = rt.plain(r)
	for i, method := range rt.methods {
		if !slices.Contains(allowed, method) {
			continue
		}
		q := *r
		q.Method = method
		if h, _ := rt.mux.Handler(&q); h == routeIndex(i) {
			return i
		}
	}
	return -1
}

// plain returns r, or a shallow copy of it whose URL path escapes only what
// a path needs escaped (so an escaped slash in r's path is a separator) and
// "." and ".." segments (so ServeMux reads them as names, not as steps to
// clean away), and has no leading or trailing slashes if the router trims.
func (rt *router) plain(r *http.Request) *http.Request {
	p := r.URL.Path
	if rt.trim {
		p = "/" + strings.Trim(p, "/")
	}
	raw := escapeDots(p)
	if p == r.URL.Path && r.URL.RawPath == raw {
		return r
	}
	q := *r
	u := *r.URL
	u.Path, u.RawPath = p, raw
	q.URL = &u
	return &q
}

// escapeDots returns path escaped segment by segment, with "." and ".."
// segments escaped too, or "" if it has none.
func escapeDots(path string) string {
	segs := strings.Split(path, "/")
	if !slices.Contains(segs, ".") && !slices.Contains(segs, "..") {
		return ""
	}
	for i, seg := range segs {
		segs[i] = strings.ReplaceAll(url.PathEscape(seg), ".", "%2E")
	}
	return strings.Join(segs, "/")
}

// routeWriter receives what the mux does with a request: a route's handler
// records its index; the mux's own answers (404, 405 with Allow, a redirect)
// leave their status and headers.
type routeWriter struct {
	index  int
	status int
	header http.Header
}

func (w *routeWriter) Header() http.Header {
	if w.header == nil {
		w.header = http.Header{}
	}
	return w.header
}

func (w *routeWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *routeWriter) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return len(b), nil
}
