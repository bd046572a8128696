using System;

namespace Netdevd.Qapi.Generator.Parsing;

/// <summary>A schema error with the place it was found; turned into a generator diagnostic.</summary>
internal sealed class SchemaException : Exception
{
    public SchemaException(string file, int line, string message, string id = DiagnosticIds.Syntax)
        : base(message)
    {
        File = file;
        Line = line;
        Id = id;
    }

    public string File { get; }

    public int Line { get; }

    public string Id { get; }
}

/// <summary>The generator's diagnostic ids (one per kind of schema error).</summary>
internal static class DiagnosticIds
{
    public const string Syntax = "QAPI001";
    public const string UnknownType = "QAPI002";
    public const string Invalid = "QAPI003";
    public const string IncludeNotFound = "QAPI004";
    public const string Unsupported = "QAPI005";
    public const string Duplicate = "QAPI006";
}
