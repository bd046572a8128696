using Netdevd.Qapi.Schema;

namespace Netdevd.Cli;

/// <summary>One parsed <c>-chardev</c>: the text as given (for error messages), its id and its backend.</summary>
internal sealed record ChardevRequest(string Spec, string Id, ChardevBackend Backend);
