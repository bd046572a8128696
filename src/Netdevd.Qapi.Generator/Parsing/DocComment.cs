using System.Collections.Generic;
using System.Text;

namespace Netdevd.Qapi.Generator.Parsing;

/// <summary>
/// The parts of a QAPI doc comment block that become XML doc comments: the symbol it
/// documents, the body text and one description per '@member:'. Other sections (Since,
/// Returns, Errors, Features, examples) are kept out of summaries on purpose: they are
/// written for the QEMU manual, not for IntelliSense.
/// </summary>
internal sealed class DocComment
{
    private static readonly string[] Sections = { "Since:", "Returns:", "Errors:", "Features:", "Note:", "Notes:", "Example:", "Examples:", "TODO:", ".." };

    public string? Symbol { get; private set; }

    public string Body { get; private set; } = "";

    public Dictionary<string, string> Members { get; } = new();

    public static DocComment Parse(List<string> lines)
    {
        var doc = new DocComment();
        var body = new StringBuilder();
        StringBuilder? current = null;
        string? currentName = null;
        var inBody = true;
        var inFeatures = false;
        var first = true;
        foreach (var raw in lines)
        {
            var line = raw.TrimEnd();
            if (first)
            {
                first = false;
                var t = line.Trim();
                if (t.StartsWith("@", System.StringComparison.Ordinal) && t.EndsWith(":", System.StringComparison.Ordinal))
                {
                    doc.Symbol = t.Substring(1, t.Length - 2);
                    continue;
                }

                return doc; // free-form block
            }

            var trimmed = line.TrimStart();
            if (IsSection(trimmed))
            {
                Flush(doc, currentName, current);
                currentName = null;
                current = null;
                inBody = false;
                inFeatures = trimmed.StartsWith("Features:", System.StringComparison.Ordinal);
                continue;
            }

            if (trimmed.StartsWith("@", System.StringComparison.Ordinal) && trimmed.IndexOf(':') > 1 && line == trimmed)
            {
                Flush(doc, currentName, current);
                var colon = trimmed.IndexOf(':');
                currentName = inFeatures ? null : trimmed.Substring(1, colon - 1);
                current = new StringBuilder(trimmed.Substring(colon + 1).Trim());
                inBody = false;
                continue;
            }

            if (current != null)
            {
                if (trimmed.Length == 0)
                {
                    Flush(doc, currentName, current);
                    currentName = null;
                    current = null;
                }
                else
                {
                    current.Append(' ').Append(trimmed);
                }

                continue;
            }

            if (inBody)
            {
                if (trimmed.Length == 0)
                {
                    if (body.Length > 0 && body[body.Length - 1] != '\n')
                    {
                        body.Append('\n');
                    }
                }
                else
                {
                    if (body.Length > 0 && body[body.Length - 1] != '\n')
                    {
                        body.Append(' ');
                    }

                    body.Append(trimmed);
                }
            }
        }

        Flush(doc, currentName, current);
        doc.Body = body.ToString().Trim();
        return doc;
    }

    private static bool IsSection(string line)
    {
        foreach (var s in Sections)
        {
            if (line.StartsWith(s, System.StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    private static void Flush(DocComment doc, string? name, StringBuilder? text)
    {
        if (name != null && text != null && !doc.Members.ContainsKey(name))
        {
            doc.Members[name] = text.ToString().Trim();
        }
    }
}
