namespace Netdevd.Qmp;

/// <summary>
/// Texts of exceptions for answers and logs that cannot fail: an exception type's Message or
/// ToString may itself throw, and the server must survive even that.
/// </summary>
internal static class ExceptionText
{
    /// <summary>The message, or the type name when the message cannot be had.</summary>
    public static string Message(Exception e)
    {
        try
        {
            return e.Message;
        }
        catch (Exception)
        {
            // Whatever the property throws, the type name will do.
            return e.GetType().FullName ?? "exception";
        }
    }

    /// <summary>Type, message and stack trace, or as much of that as can be had.</summary>
    public static string Full(Exception e)
    {
        try
        {
            return e.ToString();
        }
        catch (Exception)
        {
            return (e.GetType().FullName ?? "exception") + ": " + Message(e);
        }
    }
}
