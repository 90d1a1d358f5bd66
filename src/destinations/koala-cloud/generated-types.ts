// Generated file. DO NOT MODIFY IT BY HAND.

export interface Settings {
  /**
   * Your Koala Public Key, in Koala under Settings > Install.
   */
  public_key: string
  /**
   * Only for deletion requests (GDPR/CCPA): a secret API key, created in Koala under Settings > API Keys. Koala deletes people by email, so a deletion request reaches Koala only when its userId is an email address. Events need the Public Key alone.
   */
  secret_key?: string
}
