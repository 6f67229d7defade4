package main

import (
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/memsdk/mem-go/mock"
)

// TestForeignFrontMatterIsLeftOut: a Markdown file with front matter from
// another tool (Obsidian, Jekyll: a --- block of YAML keys mem does not
// read) became a note titled "---". The block is left out of the note now;
// its title, if any, becomes the note's first line; mem says so once.
func TestForeignFrontMatterIsLeftOut(t *testing.T) {
	for _, c := range []struct{ name, in, want string }{
		{"obsidian", "---\ntags: [garden, ideas]\naliases:\n  - Garden\ncreated: 2023-01-01\n---\n# Garden ideas\n\nPlant tomatoes.", "# Garden ideas\n\nPlant tomatoes."},
		{"jekyll", "---\nlayout: post\ntitle: \"Hello world\"\ndate: 2024-01-01 10:00:00 +0000\n---\n\nFirst post body.", "Hello world\n\nFirst post body."},
		{"title repeated", "---\ntitle: 'Garden ideas'\n---\n# Garden ideas\n\nBody.", "# Garden ideas\n\nBody."},
		{"a rule, not front matter", "---\nJust a line of prose, then a rule.\n---\nMore prose.", "---\nJust a line of prose, then a rule.\n---\nMore prose."},
		{"never closed", "---\ntags: [a]\nBody", "---\ntags: [a]\nBody"},
	} {
		items := documentItem("a.md", ".md", []byte(c.in), viaNotes)
		require.Len(t, items, 1, c.name)
		assert.Equal(t, c.want, items[0].Content, c.name)
	}

	synctest.Test(t, func(t *testing.T) {
		srv := mock.MustNew(mock.Config{})
		dir := writeFiles(t, map[string]string{
			"garden.md": "---\ntags: [garden]\n---\n# Garden ideas\n\nPlant tomatoes.",
			"post.md":   "---\nlayout: post\ntitle: Hello world\n---\nFirst post.",
		})
		code, out, errOut := cli(t.Context(), srv, "", "import", "--mock", dir)
		require.Equal(t, exitOK, code, out+errOut)
		assert.Contains(t, errOut, "2 Markdown files start with front matter mem does not read (Obsidian, Jekyll…): it is left out of their notes")
		var titles []string
		for _, n := range srv.Notes(mock.DefaultKey) {
			titles = append(titles, n.Title)
		}
		assert.ElementsMatch(t, []string{"Garden ideas", "Hello world"}, titles)
	})
}
