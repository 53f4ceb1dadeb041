// What the chat page takes from Amplify v6, bundled by `npm run build` into dist/amplify.js (never
// committed): the same sign-in the site uses.
export { Amplify } from "aws-amplify";
export { fetchAuthSession, signIn, signOut } from "aws-amplify/auth";
