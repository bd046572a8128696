using System.Text;
using Netdevd.Qapi.Errors;
using Netdevd.Qapi.Json;
using Netdevd.Qapi.Objects;
using Netdevd.Qapi.Options;
using Netdevd.Qapi.Schema;
using Netdevd.Qapi.Visitors;

namespace Netdevd.Fuzz.Harnesses;

/// <summary>
/// The modern <c>-netdev</c> syntax whatever the type: keyval (dotted keys, typed by string
/// conversion) or, for text starting with '{', JSON through the QObject input visitor, then the
/// backend's own option checks. Only QAPI errors may come out.
/// </summary>
public static class NetdevKeyvalHarness
{
    public static void Run(ReadOnlySpan<byte> input)
    {
        var spec = Encoding.UTF8.GetString(input);
        try
        {
            Netdev netdev;
            if (spec.StartsWith('{'))
            {
                if (QmpJson.Parse(spec) is not QDict root)
                {
                    return;
                }

                netdev = Netdev.Visit(new QObjectInputVisitor(root), null);
            }
            else
            {
                var args = KeyvalParser.Parse(spec, "type", out var help);
                if (help)
                {
                    return;
                }

                netdev = Netdev.Visit(new QObjectInputVisitor(args, keyval: true), null);
            }

            NetdevSemantics.Check(netdev);
        }
        catch (QapiException)
        {
        }
    }
}
