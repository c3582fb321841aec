// The error envelope moved to Contracts/Errors (AnthropicErrors, OpenAiErrors), the one home every service uses.
// This namespace stays declared only while Gateway/Limits, Gateway/Apis and Pipeline/CallerAuthenticator.cs (being
// reshaped by other work) still say `using LlmGateway.Gateway.Errors;`;
// delete this file once those usings are gone.
namespace LlmGateway.Gateway.Errors;
