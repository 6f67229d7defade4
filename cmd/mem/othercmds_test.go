package main

import (
	"encoding/json"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/memsdk/mem-go/mock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEverydayCommands(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := mock.MustNew(mock.Config{})
		dir := docs(t, 3)
		code, _, errOut := cli(t.Context(), srv, "", "import", "--mock", "--collection", "Imported", dir)
		require.Equal(t, exitOK, code, errOut)

		code, out, errOut := cli(t.Context(), srv, "", "notes", "list", "--mock", "--json")
		require.Equal(t, exitOK, code, errOut)
		var list struct {
			Notes []struct{ ID, Title string }
		}
		require.NoError(t, json.Unmarshal([]byte(out), &list))
		notes := list.Notes
		require.Len(t, notes, 3)

		code, out, _ = cli(t.Context(), srv, "", "notes", "get", "--mock", notes[0].ID)
		require.Equal(t, exitOK, code)
		assert.Contains(t, out, "Body of document")

		code, out, _ = cli(t.Context(), srv, "", "notes", "search", "--mock", "document", "1")
		require.Equal(t, exitOK, code)
		assert.Contains(t, out, "Document 1")

		code, out, _ = cli(t.Context(), srv, "", "collections", "list", "--mock")
		require.Equal(t, exitOK, code)
		assert.Regexp(t, `\s3\s+Imported`, out)

		code, out, _ = cli(t.Context(), srv, "", "limits", "--mock")
		require.Equal(t, exitOK, code)
		assert.Contains(t, out, "requests    minute window")

		code, out, _ = cli(t.Context(), srv, "Met Ana about the garden.", "mem-it", "--mock", "-")
		require.Equal(t, exitOK, code)
		assert.Contains(t, out, "sent: request")
		assert.Len(t, srv.Notes(mock.DefaultKey), 4)

		code, _, errOut = cli(t.Context(), srv, "", "notes", "get", "--mock", "not-a-uuid")
		assert.Equal(t, exitFailed, code)
		assert.True(t, strings.Contains(errOut, "uuid") || strings.Contains(errOut, "UUID"), errOut)
	})
}
