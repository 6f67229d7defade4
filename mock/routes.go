package mock

import "strings"

// handler serves one routed call under the key's lock. It returns the 200
// body, or an error.
type handler func(c *call) (any, *apiError)

type route struct {
	method  string
	pattern string
	segs    []string
	h       handler
}

// routes are the 20 v2 endpoints of ENDPOINTS.md. Literal segments are listed
// before parameter segments at the same place, so /v2/notes/search is not
// read as a note id.
var routes = func() []route {
	rs := []route{
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
	for i := range rs {
		rs[i].segs = strings.Split(strings.Trim(rs[i].pattern, "/"), "/")
	}
	return rs
}()

// match finds the route for method and path. pattern is the matched route's
// pattern, or of a route with the same path shape when only the method
// differs (anyPath then reports that some route has this path).
func match(method, path string) (rt *route, params []string, pattern string, anyPath bool) {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	for i := range routes {
		r := &routes[i]
		p, ok := matchSegs(r.segs, segs)
		if !ok {
			continue
		}
		if !anyPath {
			pattern = r.pattern
		}
		anyPath = true
		if r.method == method {
			return r, p, r.pattern, true
		}
	}
	return nil, nil, pattern, anyPath
}

func matchSegs(pat, segs []string) ([]string, bool) {
	if len(pat) != len(segs) {
		return nil, false
	}
	var params []string
	for i, p := range pat {
		if strings.HasPrefix(p, "{") {
			if segs[i] == "" {
				return nil, false
			}
			params = append(params, segs[i])
			continue
		}
		if p != segs[i] {
			return nil, false
		}
	}
	return params, true
}
