// Generated file. DO NOT MODIFY IT BY HAND.

export interface Settings {
  /**
   * Your public key
   */
  public_key: string
  /**
   * Needed only for deletion requests (GDPR/CCPA): a secret API key from Koala, Settings > API Keys. Koala deletes people by email, so it deletes those whose userId is their email. Events are sent with the Public Key alone.
   */
  secret_key?: string
}
