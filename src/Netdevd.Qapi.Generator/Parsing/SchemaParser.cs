using System.Collections.Generic;
using System.Text;

namespace Netdevd.Qapi.Generator.Parsing;

/// <summary>One top-level expression of a schema file with the doc comment block before it.</summary>
internal sealed class ParsedExpression
{
    public ParsedExpression(string file, SchemaDict expr, DocComment? doc)
    {
        File = file;
        Expr = expr;
        Doc = doc;
    }

    public string File { get; }

    public SchemaDict Expr { get; }

    public DocComment? Doc { get; }
}

/// <summary>
/// Reads a QAPI schema file: a sequence of dicts written as Python literals (single-quoted
/// strings, True/False, '#' comments). A '##' line opens and closes a doc comment block that
/// documents the expression right after it. No JSON library: the syntax is not JSON.
/// </summary>
internal sealed class SchemaParser
{
    private readonly string _file;
    private readonly string _text;
    private int _pos;
    private int _line = 1;

    private SchemaParser(string file, string text)
    {
        _file = file;
        _text = text;
    }

    public static List<ParsedExpression> Parse(string file, string text) => new SchemaParser(file, text).ParseFile();

    private List<ParsedExpression> ParseFile()
    {
        var result = new List<ParsedExpression>();
        DocComment? pending = null;
        while (true)
        {
            SkipWhitespace();
            if (_pos >= _text.Length)
            {
                return result;
            }

            var c = _text[_pos];
            if (c == '#')
            {
                if (AtLineStart() && RestOfLine().TrimEnd() == "##")
                {
                    pending = ReadDocBlock();
                }
                else
                {
                    SkipComment();
                }

                continue;
            }

            if (c != '{')
            {
                throw Error($"expected '{{' to start an expression, found '{c}'");
            }

            var expr = (SchemaDict)ParseValue();
            // A doc block documents a definition only when it names a symbol (free-form
            // section blocks like '= Net devices' document nothing).
            result.Add(new ParsedExpression(_file, expr, pending?.Symbol is null ? null : pending));
            pending = null;
        }
    }

    private bool AtLineStart()
    {
        var i = _pos - 1;
        while (i >= 0 && (_text[i] == ' ' || _text[i] == '\t'))
        {
            i--;
        }

        return i < 0 || _text[i] == '\n';
    }

    private string RestOfLine()
    {
        var end = _text.IndexOf('\n', _pos);
        return end < 0 ? _text.Substring(_pos) : _text.Substring(_pos, end - _pos).TrimEnd('\r');
    }

    private void NextLine()
    {
        var end = _text.IndexOf('\n', _pos);
        if (end < 0)
        {
            _pos = _text.Length;
        }
        else
        {
            _pos = end + 1;
            _line++;
        }
    }

    private DocComment ReadDocBlock()
    {
        var startLine = _line;
        NextLine();
        var lines = new List<string>();
        while (true)
        {
            if (_pos >= _text.Length)
            {
                throw new SchemaException(_file, startLine, "unterminated doc comment block (missing '##')");
            }

            var line = RestOfLine().Trim();
            NextLine();
            if (line == "##")
            {
                return DocComment.Parse(lines);
            }

            if (!line.StartsWith("#", System.StringComparison.Ordinal))
            {
                throw new SchemaException(_file, _line - 1, "doc comment block lines must start with '#'");
            }

            var content = line.Substring(1);
            lines.Add(content.StartsWith(" ", System.StringComparison.Ordinal) ? content.Substring(1) : content);
        }
    }

    private void SkipComment()
    {
        while (_pos < _text.Length && _text[_pos] != '\n')
        {
            _pos++;
        }
    }

    private void SkipWhitespace()
    {
        while (_pos < _text.Length)
        {
            var c = _text[_pos];
            if (c == '\n')
            {
                _line++;
            }
            else if (c != ' ' && c != '\t' && c != '\r')
            {
                return;
            }

            _pos++;
        }
    }

    /// <summary>Skips blanks and comments inside an expression.</summary>
    private void SkipInsignificant()
    {
        while (true)
        {
            SkipWhitespace();
            if (_pos < _text.Length && _text[_pos] == '#')
            {
                SkipComment();
                continue;
            }

            return;
        }
    }

    private SchemaValue ParseValue()
    {
        SkipInsignificant();
        if (_pos >= _text.Length)
        {
            throw Error("unexpected end of file");
        }

        var c = _text[_pos];
        switch (c)
        {
            case '{':
                return ParseDict();
            case '[':
                return ParseList();
            case '\'':
            case '"':
                return new SchemaString(ParseString(), _line);
            default:
                if (char.IsLetter(c))
                {
                    var line = _line;
                    var start = _pos;
                    while (_pos < _text.Length && char.IsLetter(_text[_pos]))
                    {
                        _pos++;
                    }

                    var word = _text.Substring(start, _pos - start);
                    return word switch
                    {
                        "true" or "True" => new SchemaBool(true, line),
                        "false" or "False" => new SchemaBool(false, line),
                        _ => throw new SchemaException(_file, line, $"stray '{word}'"),
                    };
                }

                throw Error($"stray '{c}'");
        }
    }

    private SchemaDict ParseDict()
    {
        var line = _line;
        _pos++; // '{'
        var members = new List<KeyValuePair<string, SchemaValue>>();
        var keys = new HashSet<string>();
        while (true)
        {
            SkipInsignificant();
            if (Peek() == '}')
            {
                _pos++;
                return new SchemaDict(members, line);
            }

            if (Peek() != '\'' && Peek() != '"')
            {
                throw Error("expected string or '}'");
            }

            var keyLine = _line;
            var key = ParseString();
            if (!keys.Add(key))
            {
                throw new SchemaException(_file, keyLine, $"duplicate key '{key}'");
            }

            SkipInsignificant();
            if (Peek() != ':')
            {
                throw Error("expected ':'");
            }

            _pos++;
            members.Add(new KeyValuePair<string, SchemaValue>(key, ParseValue()));
            SkipInsignificant();
            if (Peek() == ',')
            {
                _pos++;
            }
            else if (Peek() != '}')
            {
                throw Error("expected ',' or '}'");
            }
        }
    }

    private SchemaList ParseList()
    {
        var line = _line;
        _pos++; // '['
        var items = new List<SchemaValue>();
        while (true)
        {
            SkipInsignificant();
            if (Peek() == ']')
            {
                _pos++;
                return new SchemaList(items, line);
            }

            items.Add(ParseValue());
            SkipInsignificant();
            if (Peek() == ',')
            {
                _pos++;
            }
            else if (Peek() != ']')
            {
                throw Error("expected ',' or ']'");
            }
        }
    }

    private string ParseString()
    {
        var quote = _text[_pos++];
        var sb = new StringBuilder();
        while (true)
        {
            if (_pos >= _text.Length || _text[_pos] == '\n')
            {
                throw Error("missing terminating quote");
            }

            var c = _text[_pos++];
            if (c == quote)
            {
                return sb.ToString();
            }

            if (c == '\\')
            {
                if (_pos >= _text.Length)
                {
                    throw Error("missing terminating quote");
                }

                c = _text[_pos++];
                if (c != '\\' && c != '\'' && c != '"')
                {
                    throw Error($"unknown escape \\{c}");
                }
            }

            sb.Append(c);
        }
    }

    private char Peek() => _pos < _text.Length ? _text[_pos] : '\0';

    private SchemaException Error(string message) => new(_file, _line, message);
}
