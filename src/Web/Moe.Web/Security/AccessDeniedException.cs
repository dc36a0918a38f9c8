namespace Moe.Web.Security;

/// <summary>The signed-in user lacks the role an action needs (the API answers 403 Forbidden).</summary>
public sealed class AccessDeniedException(string message) : Exception(message);
