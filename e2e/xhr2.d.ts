// xhr2 ships no types: it is the XMLHttpRequest constructor for Node.
declare module "xhr2" {
  const XMLHttpRequest: new () => unknown;
  export default XMLHttpRequest;
}
